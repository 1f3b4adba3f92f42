"""The trail: each scenario's probability as the evidence arrived, items marked by id."""

from __future__ import annotations

import datetime as dt

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

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
from toolkit.outputs.forecast import Forecast
from toolkit.outputs.language import percent

ID_GAP_POINTS = 10.0


def trail_dates(forecast: Forecast) -> list[dt.date]:
    """Date of every trail row: the prior sits a little before the first item."""
    dates = [item.reported_on for item in forecast.items]
    if not dates:
        return [forecast.as_of]
    span = max((dates[-1] - dates[0]).days, 30)
    return [dates[0] - dt.timedelta(days=max(int(span * 0.06), 10)), *dates]


def spread(positions: list[float], gap: float, low: float, high: float) -> list[float]:
    """Move sorted label positions apart by at least ``gap``, staying inside [low, high]."""
    out = list(positions)
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + gap)
    if out and out[-1] > high:
        out[-1] = high
        for i in range(len(out) - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - gap)
    return [max(p, low) for p in out]


@styled
def trail_chart(forecast: Forecast) -> Figure:
    """Step lines of each scenario's probability from the prior through every item.

    The left panel covers the evidence (row 0 of ``forecast.trail`` is the prior, row i
    the posterior after item i); item ids are annotated at their report dates (gid
    ``item-id-<id>``). A narrow right panel carries the forecast from the as-of date to the
    horizon. Lines have gid ``trail-<scenario>``.

    Returns
    -------
    Figure
        The chart.
    """
    dates = trail_dates(forecast)
    x = mdates.date2num(dates)
    has_items = bool(forecast.items)
    left_end = x[-1] + max((x[-1] - x[0]) * 0.04, 5)
    horizon, as_of = mdates.date2num(forecast.horizon), mdates.date2num(forecast.as_of)
    broken = has_items and (horizon - x[0]) > 1.6 * (left_end - x[0])
    figure = new_figure(10.5, 6.2)
    if broken:
        left, right = figure.subplots(1, 2, sharey=True, width_ratios=[5, 1.3])
    else:
        left, right = figure.add_subplot(), None
    for k, sid in enumerate(forecast.scenario_ids):
        style = scenario_style(k)
        y = forecast.trail[:, k]
        line = left.step(x, y, where="post", color=style.color, linestyle=style.linestyle,
                         linewidth=2, marker=style.marker, markersize=5,
                         markeredgecolor=INK, markeredgewidth=0.5,
                         label=plain(forecast.labels[k]))[0]
        line.set_gid(f"trail-{sid}")
    for date in sorted(set(x[1:])):
        left.axvline(date, color=MUTED, linewidth=0.6, alpha=0.35, zorder=0)
    left.set_ylim(-0.02, 1.02)
    left.yaxis.set_major_formatter(PercentFormatter(1.0))
    left.set_ylabel("Probability of the scenario")
    left.grid(axis="y", alpha=0.3)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    left.xaxis.set_major_locator(locator)
    left.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    left.set_xlabel("Date the evidence was reported")
    left.annotate("prior", (x[0], forecast.trail[0].max()), xytext=(0, 8),
                  textcoords="offset points", ha="center", fontsize=8, color=MUTED)
    if broken:
        left.set_xlim(x[0] - (left_end - x[0]) * 0.03, left_end)
        _forecast_panel(right, forecast, x[-1], as_of, horizon)
        _break_marks(left, right)
    else:
        end = max(horizon, as_of)
        left.set_xlim(x[0] - (end - x[0]) * 0.03, end + (end - x[0]) * 0.08)
        _horizon_marks(left, forecast, as_of, horizon, x[-1])
    if has_items:
        _annotate_ids(figure, left, forecast, x[1:])
    legend_below(left, ncols=min(len(forecast.labels), 3), label_lines=2)
    return decorate(figure, forecast, "How the probabilities moved as evidence arrived")


def _forecast_panel(axis: Axes, forecast: Forecast, last: float, as_of: float,
                    horizon: float) -> None:
    """Right panel: the final probabilities held to the as-of date, then to the horizon."""
    start = min(last, as_of - 30)
    axis.set_xlim(start, horizon + (horizon - start) * 0.12)
    for k in range(len(forecast.scenario_ids)):
        style = scenario_style(k)
        p = float(forecast.probabilities[k])
        axis.plot([start, as_of], [p, p], color=style.color, linestyle=style.linestyle,
                  linewidth=2)
        axis.plot([as_of, horizon], [p, p], color=style.color, linestyle=":", linewidth=1.2)
        axis.plot(horizon, p, marker=style.marker, color=style.color, markeredgecolor=INK,
                  markeredgewidth=0.5, markersize=6)
    _horizon_marks(axis, forecast, as_of, horizon, start)
    axis.spines["left"].set_visible(False)
    axis.tick_params(axis="y", left=False)
    axis.xaxis.set_major_locator(mdates.YearLocator())
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    axis.grid(axis="y", alpha=0.3)


def _horizon_marks(axis: Axes, forecast: Forecast, as_of: float, horizon: float,
                   last: float) -> None:
    """Vertical lines at the as-of date and the horizon, and the final percentages."""
    axis.axvline(horizon, color=INK, linewidth=1.2, linestyle="--")
    axis.text(horizon, 1.0, f"horizon\n{forecast.horizon.isoformat()}", ha="right", va="top",
              fontsize=8, color=INK, transform=axis.get_xaxis_transform(),
              bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
    if as_of > last + 1:
        axis.axvline(as_of, color=MUTED, linewidth=0.8, linestyle=":")
        axis.text(as_of, 0.5, f"as of\n{forecast.as_of.isoformat()}", ha="right", va="center",
                  fontsize=7.5, color=MUTED, transform=axis.get_xaxis_transform(),
                  bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
    order = np.argsort(forecast.probabilities)
    heights = spread([float(forecast.probabilities[k]) for k in order], 0.045, 0.0, 1.0)
    for k, y in zip(order, heights, strict=True):
        axis.annotate(percent(float(forecast.probabilities[k])), (horizon, y),
                      xytext=(6, 0), textcoords="offset points", va="center", fontsize=8.5,
                      color=INK, fontweight="bold", annotation_clip=False)


def _break_marks(left: Axes, right: Axes) -> None:
    """Diagonal marks where the time axis is broken between the two panels."""
    left.spines["right"].set_visible(False)
    size = 5
    kwargs = {"marker": [(-1, -size / 2), (1, size / 2)], "markersize": size,
              "linestyle": "none", "color": MUTED, "clip_on": False}
    left.plot([1, 1], [0, 1], transform=left.transAxes, **kwargs)
    right.plot([0, 0], [0, 1], transform=right.transAxes, **kwargs)


def _annotate_ids(figure: Figure, axis: Axes, forecast: Forecast, x: np.ndarray) -> None:
    """Item ids above the axis at their dates, nudged apart so none overlap."""
    figure.draw_without_rendering()
    width_points = axis.get_window_extent().width * 72 / figure.dpi
    low, high = axis.get_xlim()
    gap = ID_GAP_POINTS * (high - low) / max(width_points, 1.0)
    positions = spread([float(v) for v in x], gap, low + gap / 2, high - gap / 2)
    for item, date, label_x in zip(forecast.items, x, positions, strict=True):
        text = axis.annotate(
            plain(item.id), xy=(date, 1.0), xycoords=("data", "axes fraction"),
            xytext=(label_x, 1.035), textcoords=("data", "axes fraction"), rotation=90,
            ha="center", va="bottom", fontsize=7.5, color=INK, annotation_clip=False,
            arrowprops={"arrowstyle": "-", "color": MUTED, "linewidth": 0.5,
                        "shrinkA": 0, "shrinkB": 0})
        text.set_gid(f"item-id-{item.id}")
