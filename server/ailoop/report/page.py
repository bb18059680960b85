"""The report page: one self-contained HTML file, no script, a strict Content-Security-Policy.

Charts are inline SVG rendered when the report is built (:mod:`ailoop.report.charts`); the
only style is one inline ``<style>`` element allowed by its hash. Every text that comes
from the store (tool, language, user and pattern names, titles) is data and is escaped.
The numbers the statistics give are in tables too, each cell marked with ``data-stat``
(its path in ``ailoop stats --format json``), so they can be read and checked.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Callable
from typing import Any

from ailoop.report import charts
from ailoop.report.data import CONTEXT_WEEKS

STYLE = """
body{font:14px/1.45 "DejaVu Sans","Liberation Sans",Arial,sans-serif;margin:2em auto;
max-width:1100px;padding:0 1em;color:#222;background:#fff}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em}
.meta,.what{color:#555}.note{background:#f6f6f6;border-left:4px solid #999;padding:.6em 1em}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.2em .7em;border-bottom:1px solid #ddd;
text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0;overflow-x:auto}figcaption{color:#555;margin-bottom:.3em}
svg{max-width:100%;height:auto}
"""


def _csp(style: str) -> str:
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; font-src 'none'; "
        "script-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


def esc(value: object) -> str:
    """Escape a value for HTML text or an attribute."""
    return html.escape(str(value), quote=True)


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _num(value: object, stat: str) -> str:
    return f'<td class="n" data-stat="{esc(stat)}">{esc(value)}</td>'


def _figure(name: str, caption: str, spec: dict[str, Any]) -> str:
    svg = charts.render_svg(spec)
    return (
        f'<figure class="chart" data-chart="{esc(name)}"><figcaption>{esc(caption)}'
        f"</figcaption>{svg}</figure>"
    )


def _stage_tables(data: dict[str, Any]) -> str:
    editor, review, merged = (data["stages"][k] for k in ("editor", "review", "merged"))
    rows = [
        "<table><tr><th>stage</th><th>what</th><th>count</th><th>denominator</th><th>rate</th></tr>"
    ]
    for kind in ("accepted", "kept", "rejected", "reverted"):
        rows.append(
            f"<tr><td>editor</td><td>{kind}</td>{_num(editor[kind], f'stages.editor.{kind}')}"
            f"{_num(editor['outcomes'], 'stages.editor.outcomes')}<td></td></tr>"
        )
    rows.append(
        "<tr><td>editor</td><td>acceptance by snippets</td>"
        f"{_num(editor['accepted'] + editor['kept'], 'stages.editor.accepted+kept')}"
        f"{_num(editor['outcomes'], 'stages.editor.outcomes')}<td>{_pct(editor['rate'])}</td></tr>"
    )
    lines = editor["lines"]
    rows.append(
        "<tr><td>editor</td><td>acceptance by lines</td>"
        f"{_num(lines['accepted'] + lines['kept'], 'stages.editor.lines.accepted+kept')}"
        f"{_num(lines['outcomes'], 'stages.editor.lines.outcomes')}"
        f"<td>{_pct(lines['rate'])}</td></tr>"
    )
    for kind, label in (
        ("approved", "approved"),
        ("changes_requested", "changes requested"),
        ("commented", "commented"),
        ("rejected", "rejected in review (closed unmerged)"),
    ):
        rows.append(
            f"<tr><td>review</td><td>{label}</td>{_num(review[kind], f'stages.review.{kind}')}"
            f"{_num(review['events'], 'stages.review.events')}<td></td></tr>"
        )
    rows.append(
        "<tr><td>review</td><td>approval rate (approved / verdicts)</td>"
        f"{_num(review['approved'], 'stages.review.approved')}"
        f"{_num(review['verdicts'], 'stages.review.verdicts')}<td>{_pct(review['rate'])}</td></tr>"
    )
    rows.append(
        "<tr><td>merged</td><td>landing rate (reached the main branch / generated)</td>"
        f"{_num(merged['merged'], 'stages.merged.merged')}"
        f"{_num(merged['generated'], 'stages.merged.generated')}"
        f"<td>{_pct(merged['rate'])}</td></tr></table>"
    )
    return "".join(rows)


def _rate_table(data: dict[str, Any], by: str) -> str:
    rows = [
        f"<table><tr><th>{by}</th><th>outcomes</th><th>accepted</th><th>kept</th>"
        "<th>rejected</th><th>reverted</th><th>acceptance</th><th>lines</th>"
        "<th>by lines</th></tr>"
    ]
    for r in data[f"by_{by}"]:
        stat = f"by.{by}[{r['group']}]"
        cells = "".join(
            _num(r[k], f"{stat}.{k}") for k in ("outcomes", "accepted", "kept", "rejected")
        )
        rows.append(
            f"<tr><td>{esc(r['group'])}</td>{cells}{_num(r['reverted'], f'{stat}.reverted')}"
            f"<td>{_pct(r['rate'])}</td>{_num(r['lines_outcomes'], f'{stat}.lines_outcomes')}"
            f"<td>{_pct(r['lines_rate'])}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _pattern_table(data: dict[str, Any]) -> str:
    rows = [
        "<table><tr><th>pattern</th><th>title</th><th>rejected</th><th>accepted</th>"
        "<th>odds ratio</th><th>interval</th></tr>"
    ]
    for p in data["top_patterns"]:
        stat = f"top_patterns[{p['pattern']}]"
        low, high = p["interval"]
        rows.append(
            f"<tr><td>{esc(p['pattern'])}</td><td>{esc(p['title'])}</td>"
            f"{_num(p['rejected'], f'{stat}.rejected')}{_num(p['accepted'], f'{stat}.accepted')}"
            f"<td>{p['odds_ratio']:.2f}</td><td>{low:.2f} to {high:.2f}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _context_table(data: dict[str, Any]) -> str:
    rows = [
        "<table><tr><th>changed</th><th>rules shown</th><th>before: accepted</th>"
        "<th>outcomes</th><th>rate</th><th>after: accepted</th><th>outcomes</th><th>rate</th>"
        "</tr>"
    ]
    for i, c in enumerate(data["context_changes"]):
        stat = f"context_changes[{i}]"
        cells = "".join(
            f"{_num(c[side]['accepted'], f'{stat}.{side}.accepted')}"
            f"{_num(c[side]['outcomes'], f'{stat}.{side}.outcomes')}<td>{_pct(c[side]['rate'])}</td>"
            for side in ("before", "after")
        )
        rules = ", ".join(c["rules"]) or "(none)"
        rows.append(
            f"<tr><td>{esc(c['at'][:10])} ({esc(c['week'])})</td><td>{esc(rules)}</td>{cells}</tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _too_few(data: dict[str, Any]) -> str:
    events, outcomes, needed = data["events"], data["outcomes"], data["charts_from"]
    noun = "event" if events == 1 else "events"
    return (
        f'<p class="note" id="too-few">{events} {noun} so far, {outcomes} AI '
        f"snippet{'' if outcomes == 1 else 's'} with an outcome; charts appear after "
        f"{needed} snippets have an outcome (accepted, kept, rejected or reverted).</p>"
    )


def render_html(data: dict[str, Any], title: str = "ailoop report") -> str:
    """Return the report page for ``data`` (:func:`ailoop.report.data.chart_data`).

    Raises :class:`ailoop.report.charts.ChartsUnavailable` when charts are due and
    vl-convert-python is missing.
    """
    overall = data["overall"]
    scope = "the team's shared store" if data["source"] == "team" else "the local store"
    if data["repo"]:
        scope += f", repository {data['repo']}"
    if data["since_days"]:
        scope += f", the last {data['since_days']} days"
    body: list[str] = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">From {esc(scope)}, built {esc(data["generated_at"])}: '
        f'<span data-stat="events">{data["events"]}</span> events, '
        f'<span data-stat="overall.outcomes">{overall["outcomes"]}</span> AI snippets with '
        f"an outcome, acceptance {_pct(overall['rate'])} by snippets, "
        f"{_pct(data['stages']['editor']['lines']['rate'])} by lines.</p>",
    ]
    enough = data["outcomes"] >= data["charts_from"]
    if not enough:
        body.append(_too_few(data))
    body += [
        "<h2>Per stage</h2>",
        '<p class="what">Each stage over its own denominator: outcomes in the editor, '
        "review events about a snippet, snippets generated.</p>",
        _stage_tables(data),
        "<h2>Acceptance by tool</h2>",
        _rate_table(data, "tool"),
    ]
    if data["by_model"]:
        body += [
            "<h2>Acceptance by model</h2>",
            '<p class="what">The snippets whose tool said which model wrote them.</p>',
            _rate_table(data, "model"),
        ]
    if data["context_changes"]:
        body += [
            "<h2>Changes of the learned context</h2>",
            f'<p class="what">Each change <code>ailoop context --write</code> made, with '
            f"editor acceptance in the up to {CONTEXT_WEEKS} whole weeks before and after it "
            "(its own week counts in neither; a side stops at the next change).</p>",
            _context_table(data),
        ]
    figures: list[tuple[str, str, Callable[[], dict[str, Any]]]] = []
    if enough:
        figures = [
            (
                "weekly",
                "Acceptance rate per ISO week and tool. Left: by snippets (accepted or kept / "
                "outcomes); right: by lines of those snippets. Each point is labelled with its "
                "numerator / denominator.",
                lambda: charts.weekly_spec(data["weekly_by_tool"]),
            ),
            (
                "funnel",
                "The snippet funnel: generated snippets, snippets edited after generation, then "
                "each editor outcome"
                + (
                    ", then review events about snippets and merges."
                    if len(data["funnel"]) > 6
                    else "."
                ),
                lambda: charts.funnel_spec(data["funnel"]),
            ),
        ]
        if data["top_patterns"]:
            figures += [
                (
                    "patterns",
                    "The supported rejection patterns (strongest first): rejections of snippets "
                    "that have the pattern, and the odds ratio of rejection against AI snippets "
                    "without it with its confidence interval.",
                    lambda: charts.patterns_spec(data["top_patterns"]),
                ),
                (
                    "pattern-trend",
                    "Weekly rejection rate of those patterns: rejected / outcomes of snippets "
                    "with the pattern.",
                    lambda: charts.pattern_trend_spec(data["top_patterns"]),
                ),
            ]
        if data["context_changes"]:
            figures.append(
                (
                    "context",
                    "Acceptance rate per ISO week over every tool (accepted or kept / outcomes), "
                    "with a dashed rule at each week the learned context changed.",
                    lambda: charts.context_spec(data["weekly_by_tool"], data["context_changes"]),
                )
            )
        if data["weekly_by_model"]:
            figures.append(
                (
                    "weekly-model",
                    "Acceptance rate per ISO week and model, by snippets and by lines, for the "
                    "snippets whose tool said which model wrote them.",
                    lambda: charts.weekly_spec(data["weekly_by_model"], "model"),
                )
            )
        figures.append(
            (
                "languages",
                "Acceptance per language, by snippets and by lines.",
                lambda: charts.rates_spec(data["by_language"], "language"),
            )
        )
        if data["per_user"] and data["by_user"]:
            figures.append(
                (
                    "users",
                    "Acceptance per person, by snippets and by lines.",
                    lambda: charts.rates_spec(data["by_user"], "person"),
                )
            )
    body.append("<h2>Charts</h2>" if figures else "")
    for name, caption, spec in figures:
        body.append(_figure(name, caption, spec()))
    if data["top_patterns"]:
        body += ["<h2>Top rejection patterns</h2>", _pattern_table(data)]
    notes = list(data["not_recorded"].values())
    if not data["per_user"]:
        notes.append(
            "per person: not shown, the team store keeps user names in clear (turn on "
            "hash_users with the team's key for pseudonymous per-person numbers); aggregated"
        )
    body.append("<h2>Not shown</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(_csp(STYLE))}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
