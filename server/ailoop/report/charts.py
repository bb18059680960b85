"""Vega-Lite specs of the report's charts, rendered to SVG with ``vl-convert-python``.

The specs are plain dicts (Vega-Lite v5); ``vl-convert`` runs Vega in an embedded
JavaScript engine, offline, without a browser, and returns SVG that the page inlines: the
report needs no script. The optional extra ``ailoop[report]`` installs it.
"""

from __future__ import annotations

from collections.abc import Callable
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


_MEASURES = ("by snippets", "by lines")


#: Per measure: its name, and the fields of a row with its rate, numerator, denominator
#: and the denominator's unit.
_MEASURE_FIELDS = (
    (_MEASURES[0], "rate", "accepted", "outcomes", ""),
    (_MEASURES[1], "lines_rate", "lines_accepted", "lines_outcomes", " lines"),
)


def _per_measure(
    rows: list[dict[str, Any]],
    fields: tuple[str, ...],
    label: Callable[[dict[str, Any], tuple[str, ...]], str],
) -> list[dict[str, Any]]:
    """Return two data points per row, by snippets and by lines, each with its label."""
    return [
        {
            **{field: r[field] for field in fields},
            "measure": measure[0],
            "rate": r[measure[1]],
            "label": label(r, measure),
        }
        for r in rows
        for measure in _MEASURE_FIELDS
    ]


def _labelled(mark: dict[str, Any], label: dict[str, Any], field: str = "label") -> list[Any]:
    """Return the layers of a mark with a text label on each datum."""
    text: dict[str, Any] = {"field": field}
    if field == "count":
        text["type"] = "quantitative"
    return [{"mark": mark}, {"mark": {"type": "text", **label}, "encoding": {"text": text}}]


def _side_by_side(values: list[dict[str, Any]], spec: dict[str, Any]) -> dict[str, Any]:
    """Facet ``spec`` into two columns: by snippets, then by lines."""
    return {
        "data": {"values": values},
        "facet": {
            "column": {"field": "measure", "type": "nominal", "title": None, "sort": _MEASURES}
        },
        "spec": spec,
    }


def _rate_axis(title: str) -> dict[str, Any]:
    return {
        "field": "rate",
        "type": "quantitative",
        "title": title,
        "axis": {"format": ".0%"},
        "scale": {"domain": [0, 1]},
    }


def weekly_spec(rows: list[dict[str, Any]], by: str = "tool") -> dict[str, Any]:
    """Chart acceptance per ISO week and ``by`` (tool, model), by snippets and by lines."""
    values = _per_measure(rows, ("week", "group"), lambda r, m: f"{r[m[2]]}/{r[m[3]]}")
    encoding = {
        "x": {"field": "week", "type": "ordinal", "title": "ISO week"},
        "y": _rate_axis("accepted or kept / outcomes"),
        "color": {"field": "group", "type": "nominal", "title": by},
    }
    spec = {
        "width": 360,
        "height": 220,
        "encoding": encoding,
        "layer": _labelled({"type": "line", "point": True}, {"dy": -9, "fontSize": 9}),
    }
    return _spec(
        _side_by_side(values, spec),
        f"Acceptance per week and {by}: labels are accepted or kept / outcomes "
        "(snippets, then lines)",
    )


def context_spec(weeks: list[dict[str, Any]], changes: list[dict[str, Any]]) -> dict[str, Any]:
    """Weekly acceptance (every tool) with a rule at each change of the learned context."""
    totals: dict[str, list[int]] = {}
    for r in weeks:
        t = totals.setdefault(r["week"], [0, 0])
        t[0] += r["accepted"]
        t[1] += r["outcomes"]
    line = [
        {"week": week, "rate": a / o if o else None, "label": f"{a}/{o}"}
        for week, (a, o) in sorted(totals.items())
    ]
    rules = [{"week": c["week"], "label": f"context: {len(c['rules'])} rule(s)"} for c in changes]
    x = {"field": "week", "type": "ordinal", "title": "ISO week", "sort": "ascending"}
    return _spec(
        {
            "width": 640,
            "height": 220,
            "layer": [
                {
                    "data": {"values": line},
                    "encoding": {"x": x, "y": _rate_axis("accepted or kept / outcomes")},
                    "layer": _labelled({"type": "line", "point": True}, {"dy": -9, "fontSize": 9}),
                },
                {
                    "data": {"values": rules},
                    "encoding": {"x": x},
                    "layer": [
                        {"mark": {"type": "rule", "color": "#f58518", "strokeDash": [4, 3]}},
                        {
                            "mark": {
                                "type": "text",
                                "align": "left",
                                "dx": 3,
                                "y": 8,
                                "fontSize": 9,
                                "color": "#b55d00",
                            },
                            "encoding": {"text": {"field": "label"}},
                        },
                    ],
                },
            ],
        },
        "Acceptance per week (every tool, by snippets) and the changes of the learned context",
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
            "layer": _labelled(
                {"type": "bar", "color": "#4c78a8"}, {"align": "left", "dx": 4}, "count"
            ),
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
            "layer": _labelled(
                {"type": "bar", "color": "#e45756"}, {"align": "left", "dx": 4, "fontSize": 10}
            ),
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
                "y": _rate_axis("rejected / outcomes with the pattern"),
                "color": {"field": "pattern", "type": "nominal", "title": "pattern"},
            },
            "layer": _labelled({"type": "line", "point": True}, {"dy": -9, "fontSize": 9}),
        },
        "Rejection rate of the top patterns per week: labels are rejected / outcomes",
    )


def rates_spec(rows: list[dict[str, Any]], what: str) -> dict[str, Any]:
    """Chart acceptance per ``what`` (language, model, user), by snippets and by lines."""
    values = _per_measure(rows, ("group",), lambda r, m: f"{_pct(r[m[1]])} of {r[m[3]]}{m[4]}")
    order = [r["group"] for r in rows]
    spec = {
        "width": 260,
        "height": 24 * max(len(rows), 1),
        "encoding": {
            "y": {"field": "group", "type": "nominal", "sort": order, "title": None},
            "x": _rate_axis("accepted or kept / outcomes"),
        },
        "layer": _labelled(
            {"type": "bar", "color": "#54a24b"}, {"align": "left", "dx": 4, "fontSize": 10}
        ),
    }
    return _spec(
        _side_by_side(values, spec),
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
