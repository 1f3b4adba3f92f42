"""Live views of a forecast as HTML and inline SVG: fast to redraw, every text escaped.

The dashboard redraws these on every control change (a few milliseconds, where a
matplotlib figure takes a few hundred); the exported files come from
:func:`toolkit.outputs.report.export_charts`, the same code as the command line. Every string taken
from a case file goes through :func:`html.escape` before it reaches the page.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from toolkit.outputs.forecast import Forecast
from toolkit.outputs.language import estimative_word, percent

#: Okabe-Ito palette, as in the exported charts; dashes keep lines apart in greyscale.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
DASHES = ("", "6 3", "2 2", "8 3 2 3", "1 3", "4 2 1 2", "10 4")
WARNING = "#B00020"


def esc(text: Any) -> str:
    """Escape any value for HTML (quotes included)."""
    return html.escape(str(text), quote=True)


def pct(p: float) -> str:
    """A probability with one decimal (``31.4%``; ``<0.1%`` rather than ``0.0%``)."""
    return percent(float(p), decimals=1)


def shorten(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def swatch(k: int) -> str:
    """A small coloured square for scenario ``k`` (legend)."""
    colour = PALETTE[k % len(PALETTE)]
    return (f'<span style="display:inline-block;width:10px;height:10px;background:{colour};'
            'border:1px solid #333;margin-right:4px"></span>')


def summary_html(forecast: Forecast) -> str:
    """Headline sentence and a table of prior, posterior and interval per scenario."""
    rows = []
    for k, (sid, label) in enumerate(zip(forecast.scenario_ids, forecast.labels, strict=True)):
        p = float(forecast.probabilities[k])
        lo, hi = (float(v) for v in forecast.intervals[k])
        rows.append(
            f'<tr data-scenario="{esc(sid)}"><td>{swatch(k)}{esc(label)}</td>'
            f'<td style="text-align:right">{pct(forecast.prior[k])}</td>'
            f'<td style="text-align:right" class="probability"><b>{pct(p)}</b></td>'
            f'<td style="text-align:right">{pct(lo)} to {pct(hi)}</td>'
            f"<td>{esc(estimative_word(p))}</td></tr>")
    warning = "" if forecast.converged else not_converged_banner()
    return (
        f"{warning}<p><b>{esc(forecast.headline())}</b></p>"
        f'<p style="color:#555">As of {forecast.as_of.isoformat()}; {esc(forecast.engine)} '
        f"engine; {len(forecast.items)} evidence items.</p>"
        '<table style="border-collapse:collapse"><thead><tr>'
        "<th style='text-align:left'>Scenario</th><th>Prior</th><th>Posterior</th>"
        f"<th>{forecast.interval_level:.0%} interval</th><th>Estimate</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def not_converged_banner() -> str:
    """The red warning shown over a forecast whose sampler failed its diagnostics."""
    return (f'<div style="background:{WARNING};color:white;padding:4px 8px;font-weight:bold">'
            "NOT CONVERGED: the sampler failed its diagnostics; do not use these numbers as "
            "final. Rerun with more draws or chains.</div>")


def probability_svg(forecast: Forecast) -> str:
    """Horizontal bars of the posterior with interval whiskers and a prior tick.

    Each bar is a ``<rect class="bar">`` whose ``data-probability`` and width (in units of
    ``data-scale`` pixels per 1.0) equal the scenario's probability.
    """
    n = len(forecast.labels)
    width, left, scale, row = 660, 250, 330.0, 34
    top, height = 8, 8 + n * row + 34
    parts = [_svg_open(width, height, "Scenario probabilities", 12, f' data-scale="{scale:g}"')]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + n * row}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + n * row + 14}" text-anchor="middle" '
                     f'fill="#555">{tick:.0%}</text>')
    for k, label in enumerate(forecast.labels):
        y = top + k * row
        p = float(forecast.probabilities[k])
        lo, hi = (float(v) for v in forecast.intervals[k])
        colour = PALETTE[k % len(PALETTE)]
        mid = y + row / 2
        parts.append(f'<text x="{left - 8}" y="{mid + 4:.1f}" text-anchor="end">'
                     f"<title>{esc(label)}</title>{esc(shorten(label, 38))}</text>")
        parts.append(f'<rect class="bar" data-scenario="{esc(forecast.scenario_ids[k])}" '
                     f'data-probability="{p:.6f}" x="{left}" y="{y + 7}" '
                     f'width="{p * scale:.3f}" height="{row - 14}" fill="{colour}" '
                     'stroke="#222" stroke-width="0.6"/>')
        x_lo, x_hi = left + lo * scale, left + hi * scale
        parts.append(f'<path d="M{x_lo:.1f},{mid:.1f}H{x_hi:.1f}M{x_lo:.1f},{mid - 5:.1f}'
                     f'V{mid + 5:.1f}M{x_hi:.1f},{mid - 5:.1f}V{mid + 5:.1f}" stroke="#222" '
                     'stroke-width="1.2" fill="none"/>')
        x_prior = left + float(forecast.prior[k]) * scale
        parts.append(f'<line x1="{x_prior:.1f}" y1="{y + 3}" x2="{x_prior:.1f}" '
                     f'y2="{y + row - 3}" stroke="black" stroke-width="2.5"/>')
        parts.append(f'<text x="{min(x_hi + 6, left + scale + 4):.1f}" y="{mid + 4:.1f}">'
                     f"{pct(p)}</text>")
    parts.append(f'<text x="{left}" y="{height - 4}" fill="#555">bar: posterior; whisker: '
                 f"{forecast.interval_level:.0%} interval; black tick: prior</text></svg>")
    return "".join(parts)


def _svg_open(width: int, height: int, label: str, font: int, extra: str = "") -> str:
    """An ``<svg>`` tag that scales down to its container, keeping its proportions."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{label}"{extra} style="width:100%;max-width:{width}px;'
            f'height:auto;font-family:sans-serif;font-size:{font}px">')


def trail_svg(forecast: Forecast) -> str:
    """Each scenario's probability after each evidence item, in report order."""
    trail = np.asarray(forecast.trail, float)
    steps = trail.shape[0]
    width, left, right, top, plot_h = 660, 40, 24, 10, 170
    height = top + plot_h + 62
    dx = (width - left - right) / max(steps - 1, 1)
    parts = [_svg_open(width, height, "Trail of scenario probabilities", 11)]
    for level in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = top + (1 - level) * plot_h
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     'stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="#555">{level:.0%}</text>')
    labels = ["prior"] + [item.id for item in forecast.items]
    for i, label in enumerate(labels):
        x = left + i * dx
        parts.append(f'<text transform="translate({x + 3:.1f},{top + plot_h + 8}) rotate(60)" '
                     f'fill="#333">{esc(label)}</text>')
    for k in range(trail.shape[1]):
        points = " ".join(f"{left + i * dx:.1f},{top + (1 - p) * plot_h:.1f}"
                          for i, p in enumerate(trail[:, k]))
        dash = DASHES[k % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<polyline class="trail" data-scenario="{esc(forecast.scenario_ids[k])}" '
                     f'points="{points}" fill="none" stroke="{PALETTE[k % len(PALETTE)]}" '
                     f'stroke-width="2"{dash_attr}/>')
    parts.append("</svg>")
    legend = " ".join(f"{swatch(k)}{esc(label)}&nbsp;&nbsp;"
                      for k, label in enumerate(forecast.labels))
    return "".join(parts) + f'<div style="font-size:11px">{legend}</div>'


def drivers_html(forecast: Forecast) -> str:
    """What moved it: the largest moves in words, then every item's log Bayes factor."""
    labels = dict(zip(forecast.scenario_ids, forecast.labels, strict=True))
    moves = [
        f"<li><b>{esc(d['item'])}</b> ({esc(d['indicator'])}) moved {esc(labels[d['scenario']])} "
        f"from {pct(d['from'])} to {pct(d['to'])} (likelihood ratio "
        f"{d['likelihood_ratio']:.2g})</li>"
        for d in forecast.drivers(top=5)
    ]
    listing = f"<ol>{''.join(moves)}</ol>" if moves else "<p>No evidence item moved it.</p>"
    attribution = forecast.attribution
    scale = max(float(np.abs(attribution).max()) if attribution.size else 0.0, 1e-9)
    head = "".join(f'<th title="{esc(label)}">{swatch(k)}{esc(shorten(label, 18))}</th>'
                   for k, label in enumerate(forecast.labels))
    rows = []
    for i, item in enumerate(forecast.items):
        cells = []
        for value in attribution[i]:
            alpha = min(abs(float(value)) / scale, 1.0) * 0.6
            rgb = "0,114,178" if value > 0 else "213,94,0"
            cells.append(f'<td style="text-align:right;background:rgba({rgb},{alpha:.2f})">'
                         f"{float(value):+.2f}</td>")
        rows.append(f"<tr><td>{esc(item.id)}</td><td>{esc(item.indicator)}</td>"
                    f"<td>{esc(shorten(f'{item.value} {item.unit}', 24))}</td>"
                    f"{''.join(cells)}</tr>")
    return (f"{listing}<table style='border-collapse:collapse;font-size:12px'><thead><tr>"
            f"<th>Item</th><th>Indicator</th><th>Value</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            "<p style='color:#555;font-size:11px'>Cells: each item's log Bayes factor for "
            "the scenario, centred across scenarios (blue: for, orange: against).</p>")


def diagnostics_html(forecast: Forecast) -> str:
    """Engine diagnostics, with the non-converged warning when the gate fails."""
    rows = "".join(f"<tr><td>{esc(key)}</td><td>{esc(_brief(value))}</td></tr>"
                   for key, value in forecast.diagnostics.items())
    status = ('<span style="color:#006400">converged</span>' if forecast.converged
              else f'<span style="color:{WARNING};font-weight:bold">NOT CONVERGED</span>')
    banner = "" if forecast.converged else not_converged_banner()
    return (f"{banner}<p>Engine: <b>{esc(forecast.engine)}</b>, {status}</p>"
            f"<table style='font-size:12px'>{rows}</table>")


def _brief(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return shorten(str(value), 160)
