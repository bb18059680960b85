"""Vega-Lite specs of the report's charts, rendered to SVG with ``vl-convert-python``.

The specs are plain dicts (Vega-Lite v5); ``vl-convert`` runs Vega in an embedded
JavaScript engine, offline, without a browser, and returns SVG that the page inlines: the
report needs no script. The optional extra ``ailoop[report]`` installs it.
"""

from __future__ import annotations

from typing import Any

from ailoop.extras import install_hint

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
#: The ``report`` extra's requirement (pyproject.toml).
REQUIREMENT = "vl-convert-python>=1.6"
INSTALL_HINT = install_hint("the HTML report needs vl-convert-python", REQUIREMENT)

_FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
_CONFIG: dict[str, Any] = {
    "font": _FONT,
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 12},
    "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "bottom"},
}


class ChartsUnavailable(Exception):
    """vl-convert-python is not installed."""


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _spec(body: dict[str, Any], title: str) -> dict[str, Any]:
    return {"$schema": SCHEMA, "title": title, "config": _CONFIG, **body}


def weekly_spec(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Chart acceptance per ISO week and tool, by snippets and by lines, side by side."""
    values = []
    for r in rows:
        values.append(
            {
                "week": r["week"],
                "tool": r["group"],
                "measure": "by snippets",
                "rate": r["rate"],
                "label": f"{r['accepted']}/{r['outcomes']}",
            }
        )
        values.append(
            {
                "week": r["week"],
                "tool": r["group"],
                "measure": "by lines",
                "rate": r["lines_rate"],
                "label": f"{r['lines_accepted']}/{r['lines_outcomes']}",
            }
        )
    encoding = {
        "x": {"field": "week", "type": "ordinal", "title": "ISO week"},
        "y": {
            "field": "rate",
            "type": "quantitative",
            "title": "accepted or kept / outcomes",
            "axis": {"format": ".0%"},
            "scale": {"domain": [0, 1]},
        },
        "color": {"field": "tool", "type": "nominal", "title": "tool"},
    }
    return _spec(
        {
            "data": {"values": values},
            "facet": {
                "column": {
                    "field": "measure",
                    "type": "nominal",
                    "title": None,
                    "sort": ["by snippets", "by lines"],
                }
            },
            "spec": {
                "width": 360,
                "height": 220,
                "encoding": encoding,
                "layer": [
                    {"mark": {"type": "line", "point": True}},
                    {
                        "mark": {"type": "text", "dy": -9, "fontSize": 9},
                        "encoding": {"text": {"field": "label"}},
                    },
                ],
            },
        },
        "Acceptance per week and tool: labels are accepted or kept / outcomes "
        "(snippets, then lines)",
    )


def funnel_spec(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Chart the snippet funnel: generated → modified → outcomes (→ reviewed, merged)."""
    order = [s["step"] for s in steps]
    return _spec(
        {
            "data": {"values": steps},
            "width": 520,
            "height": 24 * len(steps),
            "encoding": {
                "y": {"field": "step", "type": "nominal", "sort": order, "title": None},
                "x": {"field": "count", "type": "quantitative", "title": "snippets (events)"},
            },
            "layer": [
                {"mark": {"type": "bar", "color": "#4c78a8"}},
                {
                    "mark": {"type": "text", "align": "left", "dx": 4},
                    "encoding": {"text": {"field": "count", "type": "quantitative"}},
                },
            ],
        },
        "Where snippets end up: generated, edited, then each outcome (and review, merge)",
    )


def patterns_spec(patterns: list[dict[str, Any]]) -> dict[str, Any]:
    """Top rejection patterns: rejections, with the odds ratio and its interval as labels."""
    values = [
        {
            "pattern": p["pattern"],
            "rejected": p["rejected"],
            "label": (
                f"{p['rejected']}× rejected, {p['accepted']}× accepted · odds ratio "
                f"{p['odds_ratio']:.1f} ({p['interval'][0]:.1f} to {p['interval'][1]:.1f})"
            ),
        }
        for p in patterns
    ]
    order = [p["pattern"] for p in patterns]
    return _spec(
        {
            "data": {"values": values},
            "width": 360,
            "height": 26 * len(values),
            "encoding": {
                "y": {"field": "pattern", "type": "nominal", "sort": order, "title": None},
                "x": {"field": "rejected", "type": "quantitative", "title": "rejections"},
            },
            "layer": [
                {"mark": {"type": "bar", "color": "#e45756"}},
                {
                    "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 10},
                    "encoding": {"text": {"field": "label"}},
                },
            ],
        },
        "Top rejection patterns: rejections, with the odds ratio of rejection and its interval",
    )


def pattern_trend_spec(patterns: list[dict[str, Any]]) -> dict[str, Any]:
    """Each top pattern's rejection rate per week, labelled rejected / outcomes."""
    values = [
        {
            "pattern": p["pattern"],
            "week": w["week"],
            "rate": w["rate"],
            "label": f"{w['rejected']}/{w['outcomes']}",
        }
        for p in patterns
        for w in p["weeks"]
    ]
    return _spec(
        {
            "data": {"values": values},
            "width": 640,
            "height": 220,
            "encoding": {
                "x": {"field": "week", "type": "ordinal", "title": "ISO week"},
                "y": {
                    "field": "rate",
                    "type": "quantitative",
                    "title": "rejected / outcomes with the pattern",
                    "axis": {"format": ".0%"},
                    "scale": {"domain": [0, 1]},
                },
                "color": {"field": "pattern", "type": "nominal", "title": "pattern"},
            },
            "layer": [
                {"mark": {"type": "line", "point": True}},
                {
                    "mark": {"type": "text", "dy": -9, "fontSize": 9},
                    "encoding": {"text": {"field": "label"}},
                },
            ],
        },
        "Rejection rate of the top patterns per week: labels are rejected / outcomes",
    )


def rates_spec(rows: list[dict[str, Any]], what: str) -> dict[str, Any]:
    """Chart acceptance per ``what`` (language, user), by snippets and by lines, side by side."""
    values = []
    for r in rows:
        values.append(
            {
                "group": r["group"],
                "measure": "by snippets",
                "rate": r["rate"],
                "label": f"{_pct(r['rate'])} of {r['outcomes']}",
            }
        )
        values.append(
            {
                "group": r["group"],
                "measure": "by lines",
                "rate": r["lines_rate"],
                "label": f"{_pct(r['lines_rate'])} of {r['lines_outcomes']} lines",
            }
        )
    order = [r["group"] for r in rows]
    return _spec(
        {
            "data": {"values": values},
            "facet": {
                "column": {
                    "field": "measure",
                    "type": "nominal",
                    "title": None,
                    "sort": ["by snippets", "by lines"],
                }
            },
            "spec": {
                "width": 260,
                "height": 24 * max(len(rows), 1),
                "encoding": {
                    "y": {"field": "group", "type": "nominal", "sort": order, "title": None},
                    "x": {
                        "field": "rate",
                        "type": "quantitative",
                        "title": "accepted or kept / outcomes",
                        "axis": {"format": ".0%"},
                        "scale": {"domain": [0, 1]},
                    },
                },
                "layer": [
                    {"mark": {"type": "bar", "color": "#54a24b"}},
                    {
                        "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 10},
                        "encoding": {"text": {"field": "label"}},
                    },
                ],
            },
        },
        f"Acceptance per {what}, by snippets and by lines (labels: rate of the denominator)",
    )


def render_svg(spec: dict[str, Any]) -> str:
    """Render a Vega-Lite spec to SVG; raises :class:`ChartsUnavailable` without vl-convert."""
    try:
        import vl_convert
    except ImportError as exc:
        raise ChartsUnavailable(INSTALL_HINT) from exc
    svg: str = vl_convert.vegalite_to_svg(spec)
    start = svg.find("<svg")
    return svg[start:] if start > 0 else svg
