"""Scenario probability charts: posterior with credible intervals, and prior against posterior."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from toolkit.outputs.charts.style import (
    INK,
    decorate,
    legend_below,
    new_figure,
    plain,
    scenario_style,
    styled,
    wrap,
)
from toolkit.outputs.forecast import Forecast
from toolkit.outputs.language import estimative_word, percent, percent_range


@styled
def probability_chart(forecast: Forecast) -> Figure:
    """Horizontal bars of posterior scenario probabilities with credible intervals.

    Parameters
    ----------
    forecast : Forecast
        The forecast to draw.

    Returns
    -------
    Figure
        One bar per scenario, in scenario order from the top; bar widths equal the
        probabilities (gid ``bar-<scenario>``), error bars span the credible intervals
        and a white diamond marks the prior.
    """
    n = len(forecast.labels)
    figure = new_figure(9, 2.3 + 0.62 * n)
    axis = figure.add_subplot()
    positions = np.arange(n)[::-1]
    probabilities = np.asarray(forecast.probabilities, float)
    intervals = np.asarray(forecast.intervals, float)
    for k, position in enumerate(positions):
        style = scenario_style(k)
        p, (lo, hi) = probabilities[k], intervals[k]
        bar = axis.barh(position, p, height=0.62, color=style.color, hatch=style.hatch,
                        edgecolor=INK, linewidth=0.6)[0]
        bar.set_gid(f"bar-{forecast.scenario_ids[k]}")
        errors = axis.errorbar(p, position, xerr=[[p - lo], [hi - p]], fmt="none", ecolor=INK,
                               elinewidth=1.1, capsize=4, zorder=3)
        errors[2][0].set_gid(f"interval-{forecast.scenario_ids[k]}")
        axis.plot(forecast.prior[k], position, marker="D", markersize=6, markerfacecolor="white",
                  markeredgecolor=INK, linestyle="none", zorder=4)
        span = percent_range(lo, hi)
        label = f"{percent(p)} ({estimative_word(p)}; {span})"
        right = max(hi, p, float(forecast.prior[k])) + 0.025
        if right < 0.66:
            axis.text(right, position, label, fontsize=9, va="center", color=INK)
        else:
            axis.text(0.015, position + 0.36, label, fontsize=9, va="bottom", color=INK)
    axis.set_yticks(positions, [wrap(plain(label), 2.4, 9) for label in forecast.labels])
    axis.set_ylim(-0.7, n - 0.2)
    axis.set_xlim(0, 1)
    axis.xaxis.set_major_formatter(PercentFormatter(1.0))
    axis.set_xlabel("Probability that the scenario describes the horizon "
                    f"({forecast.horizon.isoformat()})")
    axis.grid(axis="x", alpha=0.3)
    axis.tick_params(axis="y", length=0)
    handles = [
        Patch(facecolor="#BBBBBB", edgecolor=INK, label="posterior probability"),
        axis.errorbar([], [], xerr=[], fmt="none", ecolor=INK, capsize=4,
                      label=f"{forecast.interval_level:.0%} credible interval"),
        axis.plot([], [], marker="D", markerfacecolor="white", markeredgecolor=INK,
                  linestyle="none", label="prior")[0],
    ]
    legend_below(axis, handles, ncols=3, label_lines=2)
    return decorate(figure, forecast, "Scenario probabilities")


@styled
def prior_posterior_chart(forecast: Forecast) -> Figure:
    """Paired bars per scenario: prior (open) against posterior (filled, with interval).

    Returns
    -------
    Figure
        Bar heights equal ``forecast.prior`` (gid ``prior-<scenario>``) and
        ``forecast.probabilities`` (gid ``posterior-<scenario>``).
    """
    n = len(forecast.labels)
    figure = new_figure(max(6.5, 2.2 + 2.2 * n), 5.2)
    axis = figure.add_subplot()
    centres = np.arange(n, dtype=float)
    width = 0.36
    for k, centre in enumerate(centres):
        style = scenario_style(k)
        sid = forecast.scenario_ids[k]
        prior, post = float(forecast.prior[k]), float(forecast.probabilities[k])
        lo, hi = (float(v) for v in forecast.intervals[k])
        bar = axis.bar(centre - width / 2, prior, width, color="white", edgecolor=style.color,
                       hatch=style.hatch, linewidth=1.6)[0]
        bar.set_gid(f"prior-{sid}")
        bar = axis.bar(centre + width / 2, post, width, color=style.color, edgecolor=INK,
                       hatch=style.hatch, linewidth=0.6)[0]
        bar.set_gid(f"posterior-{sid}")
        axis.errorbar(centre + width / 2, post, yerr=[[post - lo], [hi - post]], fmt="none",
                      ecolor=INK, capsize=4, elinewidth=1.1)
        axis.text(centre - width / 2, prior + 0.015, f"prior\n{percent(prior)}", ha="center",
                  va="bottom", fontsize=8.5, color=INK)
        axis.text(centre + width / 2, hi + 0.015, f"now\n{percent(post)}", ha="center",
                  va="bottom", fontsize=8.5, color=INK, fontweight="bold")
    axis.set_xticks(centres, [wrap(plain(label), 1.9, 9) for label in forecast.labels])
    axis.set_ylim(0, min(1.0, max(float(np.max(forecast.intervals)),
                                  float(np.max(forecast.prior))) + 0.16))
    axis.yaxis.set_major_formatter(PercentFormatter(1.0))
    axis.set_ylabel("Probability")
    axis.grid(axis="y", alpha=0.3)
    axis.tick_params(axis="x", length=0)
    handles = [
        Patch(facecolor="white", edgecolor=INK, label="prior (before any evidence)"),
        Patch(facecolor="#BBBBBB", edgecolor=INK,
              label=f"posterior after {len(forecast.items)} items, "
                    f"{forecast.interval_level:.0%} credible interval"),
    ]
    legend_below(axis, handles, ncols=2, label_lines=3)
    return decorate(figure, forecast, "Prior against posterior")
