"""The timeline chart of a dynamic forecast: regime probabilities month by month.

Up to the as-of month, each regime's line (its own colour and line style) is the filtered
probability (the evidence up to that month) with a shaded credible interval; thin dotted
lines carry the forecast from the as-of month to the horizon, whose month is marked and
labelled with the final percentages. Short ticks along the bottom mark months that evidence
covers. The style (palette plus line styles and markers for greyscale, title, source line)
is the one of :mod:`toolkit.outputs.charts`.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from toolkit.inference.dynamic.emissions import month_start
from toolkit.outputs.charts.style import (
    INK,
    MUTED,
    decorate,
    legend_below,
    new_figure,
    plain,
    scenario_style,
    styled,
)
from toolkit.outputs.dynamic_forecast import DynamicForecast
from toolkit.outputs.language import percent


def month_dates(forecast: DynamicForecast) -> np.ndarray:
    """Matplotlib date numbers of the middle of every month of the forecast's grid."""
    first = int(forecast.months[0][:4]) * 12 + int(forecast.months[0][5:]) - 1
    return np.array([mdates.date2num(month_start(first + m)) + 14.5
                     for m in range(len(forecast.months))])


@styled
def timeline_chart(result: DynamicForecast) -> Figure:
    """Regime probabilities over time with shaded intervals; as-of month and horizon marked.

    Parameters
    ----------
    result : DynamicForecast
        A forecast from :func:`toolkit.outputs.dynamic_forecast.run_dynamic`.

    Returns
    -------
    Figure
        Lines with gid ``timeline-<scenario>`` (filtered, first month to the as-of month)
        and ``projection-<scenario>`` (as-of month to the horizon); their y data are the
        posterior means, the shaded bands the credible intervals.
    """
    f = result
    x = month_dates(f)
    now = f.as_of_row
    figure = new_figure(10.5, 6.0)
    axis = figure.add_subplot()
    for k, sid in enumerate(f.scenario_ids):
        style = scenario_style(k)
        past, ahead = slice(0, now + 1), slice(now, len(x))
        axis.fill_between(x[past], f.filtered.low[past, k], f.filtered.high[past, k],
                          color=style.color, alpha=0.15, linewidth=0)
        axis.fill_between(x[ahead], f.smoothed.low[ahead, k], f.smoothed.high[ahead, k],
                          color=style.color, alpha=0.08, linewidth=0, hatch=style.hatch)
        line = axis.plot(x[past], f.filtered.mean[past, k], color=style.color,
                         linestyle=style.linestyle, linewidth=2,
                         label=plain(f.labels[k]))[0]
        line.set_gid(f"timeline-{sid}")
        ahead_y = np.concatenate([[f.filtered.mean[now, k]], f.smoothed.mean[now + 1:, k]])
        projected = axis.plot(x[ahead], ahead_y, color=style.color, linestyle=(0, (1, 1.5)),
                              linewidth=1.4)[0]
        projected.set_gid(f"projection-{sid}")
        axis.plot(x[-1], f.probabilities[k], marker=style.marker, color=style.color,
                  markeredgecolor=INK, markeredgewidth=0.5, markersize=7)
    covered = [m for m, ids in enumerate(f.items_by_row) if ids]
    if covered:
        rug = axis.plot(x[covered], np.full(len(covered), 0.0), linestyle="none", marker="|",
                        markersize=9, color=MUTED, label="month covered by evidence")[0]
        rug.set_gid("evidence-months")
    _marks(axis, f, x)
    axis.set_ylim(-0.02, 1.02)
    axis.set_xlim(x[0] - 20, x[-1] + max((x[-1] - x[0]) * 0.09, 40))
    axis.yaxis.set_major_formatter(PercentFormatter(1.0))
    axis.set_ylabel("Probability of the regime")
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axis.set_xlabel(f"Month (to the as-of date: filtered, evidence up to each month; after it, "
                    f"thin dotted: forecast; shading: {f.interval_level:.0%} credible interval)")
    axis.grid(axis="y", alpha=0.3)
    legend_below(axis, ncols=min(len(f.labels) + 1, 4), label_lines=2)
    return decorate(figure, f, "Regimes over time (dynamic model)")


def _marks(axis, f: DynamicForecast, x: np.ndarray) -> None:
    """The as-of and horizon lines and the horizon percentages."""
    horizon = x[-1]
    axis.axvline(horizon, color=INK, linewidth=1.2, linestyle="--", gid="horizon-line")
    axis.text(horizon, 1.0, f"horizon\n{f.horizon.isoformat()}", ha="right", va="top",
              fontsize=8, color=INK, transform=axis.get_xaxis_transform(),
              bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
    if f.as_of_row < len(x) - 1:
        axis.axvline(x[f.as_of_row], color=MUTED, linewidth=0.8, linestyle=":", gid="as-of-line")
        axis.text(x[f.as_of_row], 0.97, f"as of\n{f.as_of.isoformat()}", ha="right", va="top",
                  fontsize=7.5, color=MUTED, transform=axis.get_xaxis_transform(),
                  bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
    order = np.argsort(f.probabilities)
    heights = [float(f.probabilities[k]) for k in order]
    for i in range(1, len(heights)):
        heights[i] = max(heights[i], heights[i - 1] + 0.045)
    for k, y in zip(order, heights, strict=True):
        axis.annotate(percent(float(f.probabilities[k])), (horizon, min(y, 1.0)),
                      xytext=(7, 0), textcoords="offset points", va="center", fontsize=8.5,
                      color=INK, fontweight="bold", annotation_clip=False)
