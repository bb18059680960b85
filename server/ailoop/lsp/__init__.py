"""The language server: thin pygls glue around capture, feedback and the stores."""
