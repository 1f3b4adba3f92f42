"""Attribution: which evidence item moved which scenario (log Bayes factors)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from toolkit.outputs.charts.style import (
    INK,
    MUTED,
    decorate,
    legend_below,
    new_figure,
    plain,
    scenario_style,
    shorten,
    styled,
)
from toolkit.outputs.forecast import Forecast

if TYPE_CHECKING:
    from toolkit.model.case import Case


def item_label(forecast: Forecast, i: int, case: Case | None = None) -> str:
    """Row label of item ``i``: id, indicator, value with unit, reliability grade."""
    item = forecast.items[i]
    indicator = item.indicator
    if case is not None and item.indicator in case.indicators:
        indicator = case.indicators[item.indicator].label
    value = shorten(f"{item.value} {item.unit}", 22)
    return plain(f"{item.id}  {shorten(indicator, 34)}: {value} ({item.reliability_text})")


@styled
def attribution_chart(forecast: Forecast, case: Case | None = None) -> Figure:
    """Grouped horizontal bars: each item's centred log Bayes factor for each scenario.

    Parameters
    ----------
    forecast : Forecast
        The forecast.
    case : Case, optional
        Gives indicator labels for the rows.

    Returns
    -------
    Figure
        One row per item in report order (top first); bar widths equal
        ``forecast.attribution`` (gid ``attr-<item>-<scenario>``).
    """
    attribution = forecast.attribution
    n, k_count = attribution.shape if attribution.size else (len(forecast.items),
                                                            len(forecast.scenario_ids))
    figure = new_figure(10, 2.8 + 0.36 * max(n, 1) * max(k_count, 2) / 2.2)
    axis = figure.add_subplot()
    if n == 0:
        axis.text(0.5, 0.5, "No evidence items yet", ha="center", va="center",
                  transform=axis.transAxes, fontsize=11, color=MUTED)
        axis.set_axis_off()
        return decorate(figure, forecast, "Which evidence moved which scenario")
    height = 0.8 / k_count
    rows = np.arange(n)[::-1]
    for k, sid in enumerate(forecast.scenario_ids):
        style = scenario_style(k)
        offsets = rows + 0.4 - height * (k + 0.5)
        bars = axis.barh(offsets, attribution[:, k], height=height * 0.95, color=style.color,
                         hatch=style.hatch, edgecolor=INK, linewidth=0.4,
                         label=plain(forecast.labels[k]))
        for i, bar in enumerate(bars):
            bar.set_gid(f"attr-{forecast.items[i].id}-{sid}")
    for row in rows[::2]:
        axis.axhspan(row - 0.5, row + 0.5, color="#F2F2F2", zorder=0, linewidth=0)
    axis.axvline(0, color=INK, linewidth=0.8)
    axis.set_yticks(rows, [item_label(forecast, i, case) for i in range(n)], fontsize=8)
    axis.set_ylim(-0.5, n - 0.5)
    limit = max(float(np.abs(attribution).max()) * 1.12, 0.5)
    axis.set_xlim(-limit, limit)
    axis.set_xlabel("log Bayes factor of the item for each scenario, centred across scenarios\n"
                    "(right of 0: the item favours the scenario; left: it counts against it; "
                    "0.69 = a factor of 2)")
    axis.grid(axis="x", alpha=0.3)
    axis.tick_params(axis="y", length=0)
    legend_below(axis, ncols=min(k_count, 3), label_lines=3)
    return decorate(figure, forecast, "Which evidence moved which scenario")
