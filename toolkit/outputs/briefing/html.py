"""The briefing as one self-contained HTML file: inline SVG charts, inline CSS, no scripts.

Every piece of text that comes from case files is escaped with :func:`html.escape`; the
page references nothing outside itself, so it works offline and can be mailed as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from toolkit.outputs.briefing.content import Briefing
from toolkit.outputs.language import percent, percent_range


@dataclass(frozen=True)
class ChartEmbed:
    """A chart ready to embed: name, caption and ``<svg>`` markup (trusted, not case text)."""

    name: str
    caption: str
    svg: str


CSS = """
:root { --ink: #1d1d1f; --muted: #5a5a5a; --rule: #d0d0d0; --warn: #b00020; --band: #f4f4f4; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 64rem; padding: 2rem 1.5rem 4rem;
       line-height: 1.45; font-size: 15px; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 2.2rem 0 .6rem; border-bottom: 1px solid var(--rule);
     padding-bottom: .2rem; }
.meta { color: var(--muted); font-size: .9rem; margin: 0 0 1rem; }
.question { font-style: italic; margin: .4rem 0 1.2rem; }
.headline { font-size: 1.2rem; font-weight: 600; border-left: 5px solid #0072B2;
            padding: .6rem 1rem; background: var(--band); margin: 1rem 0; }
.warning { border: 2px solid var(--warn); color: var(--warn); font-weight: 700;
           padding: .7rem 1rem; margin: 1rem 0; background: #fff5f6; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; margin: .4rem 0 1rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .35rem .5rem; text-align: left;
         vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.hash { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .8rem;
          word-break: break-all; }
.small { color: var(--muted); font-size: .82rem; }
.pos { color: #005a8c; } .neg { color: #a33b00; }
figure { margin: 1.4rem 0 2rem; break-inside: avoid; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: .88rem; margin-top: .3rem; }
ul.drivers li { margin-bottom: .3rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .8rem; }
@media print { body { max-width: none; font-size: 11pt; } h2 { break-after: avoid; }
               tr { break-inside: avoid; } }
"""


def esc(text: object) -> str:
    """Escape any text for HTML element content and attribute values."""
    return escape(str(text), quote=True)


def render_html(briefing: Briefing, charts: list[ChartEmbed]) -> str:
    """Render the briefing as a standalone HTML page.

    Parameters
    ----------
    briefing : Briefing
        What to say.
    charts : list of ChartEmbed
        Inline SVG charts, in display order.

    Returns
    -------
    str
        The page.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(briefing.title)}: briefing as of {briefing.as_of.isoformat()}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{esc(briefing.title)}</h1>",
        f'<p class="meta">{esc(briefing.meta_line)} | horizon '
        f"{briefing.horizon.isoformat()}</p>",
        f'<p class="question">{esc(briefing.question)}</p>',
        "</header>",
    ]
    for warning in briefing.warnings:
        parts.append(f'<div class="warning" role="alert">Warning: {esc(warning)}</div>')
    parts.append(f'<p class="headline">{esc(briefing.headline)}</p>')
    parts += _scenario_table(briefing)
    parts.append("<h2>Key drivers</h2>")
    if briefing.drivers:
        parts.append('<ul class="drivers">')
        parts += [f"<li>{esc(sentence)}</li>" for sentence in briefing.drivers]
        parts.append("</ul>")
    else:
        parts.append("<p>No evidence has moved the probabilities yet.</p>")
    if briefing.dynamic:
        parts.append(f'<p class="dynamic">{esc(briefing.dynamic)}</p>')
    parts += _watch(briefing)
    parts += _sensitivity(briefing)
    parts += _questions(briefing)
    parts.append("<h2>Charts</h2>")
    for chart in charts:
        parts += [f'<figure id="chart-{esc(chart.name)}">', chart.svg,
                  f"<figcaption>{esc(chart.caption)}</figcaption>", "</figure>"]
    parts += _evidence_table(briefing)
    parts += _diagnostics(briefing)
    parts += _manifest(briefing)
    parts += [
        "<footer>Produced by scenario-toolkit. Probabilities use ICD 203 estimative language: "
        "almost no chance (&lt;5%), very unlikely (5-20%), unlikely (20-45%), roughly even "
        "chance (45-55%), likely (55-80%), very likely (80-95%), almost certain (&ge;95%)."
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _scenario_table(briefing: Briefing) -> list[str]:
    level = f"{briefing.interval_level:.0%}"
    rows = [
        "<table>",
        "<thead><tr><th>Scenario</th><th>Estimate</th><th class=\"num\">Probability</th>"
        f"<th class=\"num\">{level} interval</th><th class=\"num\">Prior</th></tr></thead>",
        "<tbody>",
    ]
    for row in briefing.scenarios:
        rows.append(
            f"<tr><td>{esc(row.label)}</td><td>{esc(row.word)}</td>"
            f'<td class="num">{percent(row.probability)}</td>'
            f'<td class="num">{percent_range(row.low, row.high)}</td>'
            f'<td class="num">{percent(row.prior)}</td></tr>')
    rows += ["</tbody>", "</table>"]
    return rows


def _watch(briefing: Briefing) -> list[str]:
    if not briefing.watch:
        return []
    out = ['<h2 id="watch">What to watch next</h2>', f"<p>{esc(briefing.watch_note)}</p>",
           '<ol class="watch">']
    out += [f'<li data-indicator="{esc(row.indicator)}" data-bits="{row.bits:.6f}">'
            f"{esc(row.text)}</li>" for row in briefing.watch]
    out.append("</ol>")
    return out


def _sensitivity(briefing: Briefing) -> list[str]:
    if not briefing.sensitivity:
        return []
    out = ['<h2 id="sensitivity">What would change the forecast</h2>',
           f"<p>{esc(briefing.sensitivity_note)}</p>", '<ol class="sensitivity">']
    out += [f'<li data-input="{esc(row.input)}" data-swing="{row.swing:.6f}">'
            f"{esc(row.text)}</li>" for row in briefing.sensitivity]
    out.append("</ol>")
    return out


def _questions(briefing: Briefing) -> list[str]:
    if not briefing.questions:
        return []
    out = ['<h2 id="questions">Questions</h2>', f"<p>{esc(briefing.questions_note)}</p>",
           "<table>",
           "<thead><tr><th>Question</th><th class=\"num\">Probability</th><th>Resolution</th>"
           "<th>Score</th></tr></thead>", "<tbody>"]
    for row in briefing.questions:
        out.append(f'<tr data-question="{esc(row.id)}"><td><strong>{esc(row.id)}</strong><br>'
                   f'<span class="small">{esc(row.text)}</span></td>'
                   f'<td class="num">{esc(percent(row.probability))}</td>'
                   f"<td>{esc(row.resolution_text)}</td><td>{esc(row.score_text)}</td></tr>")
    out += ["</tbody>", "</table>"]
    return out


def _signed(value: float) -> str:
    css = "pos" if value > 0.005 else "neg" if value < -0.005 else ""
    return f'<span class="{css}">{value:+.2f}</span>'


def _evidence_table(briefing: Briefing) -> list[str]:
    labels = briefing.scenario_labels
    out = [f"<h2>Evidence ({len(briefing.evidence)} items used)</h2>"]
    if not briefing.evidence:
        out.append("<p>No evidence items were used.</p>")
    else:
        out += [
            "<table>",
            "<thead><tr><th>Item</th><th>Indicator and value</th><th>Source</th>"
            "<th>Reliability</th><th>log Bayes factor</th><th>Note</th></tr></thead>",
            "<tbody>",
        ]
        for row in briefing.evidence:
            effects = "<br>".join(f"{esc(labels[sid])}: {_signed(v)}"
                                  for sid, v in row.log_bayes_factors.items())
            source = esc(row.claim_id)
            if row.claim_summary:
                source += f": {esc(row.claim_summary)}"
            detail = ", ".join(esc(x) for x in (row.source_title, row.source_publisher,
                                                row.source_date, row.source_url) if x)
            if detail:
                source += f'<br><span class="small">{detail}</span>'
            out.append(
                f"<tr><td><strong>{esc(row.id)}</strong><br>"
                f'<span class="small">reported {row.reported_on.isoformat()}</span></td>'
                f"<td>{esc(row.indicator_label)}: <strong>{esc(row.value)} {esc(row.unit)}"
                f'</strong><br><span class="small">{row.period_start.isoformat()} to '
                f"{row.period_end.isoformat()}</span></td>"
                f"<td>{source}</td>"
                f'<td>{esc(row.reliability_text)}<br><span class="small">weight '
                f"{row.reliability:.2f}</span></td>"
                f'<td class="small">{effects}</td>'
                f'<td class="small">{esc(row.note)}</td></tr>')
        out += ["</tbody>", "</table>"]
    for reason, ids in briefing.excluded.items():
        if ids:
            out.append(f'<p class="small">Not used ({esc(reason.replace("_", " "))}): '
                       f"{esc(', '.join(ids))}</p>")
    return out


def _diagnostics(briefing: Briefing) -> list[str]:
    status = ("converged" if briefing.converged
              else '<strong class="neg">NOT CONVERGED: do not use these numbers</strong>')
    out = ["<h2>Diagnostics</h2>", f"<p>Status: {status}.</p>", "<table><tbody>"]
    out += [f"<tr><th>{esc(name)}</th><td>{esc(value)}</td></tr>"
            for name, value in briefing.diagnostics]
    out.append("</tbody></table>")
    return out


def _manifest(briefing: Briefing) -> list[str]:
    out = ["<h2>Run manifest</h2>", "<table><tbody>"]
    for name, value in briefing.manifest:
        css = ' class="hash"' if name.startswith("sha256") else ""
        out.append(f"<tr><th>{esc(name)}</th><td{css}>{esc(value)}</td></tr>")
    out.append("</tbody></table>")
    return out
