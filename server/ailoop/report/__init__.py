"""The offline HTML report (``ailoop report``): chart data, Vega-Lite charts, the page."""
