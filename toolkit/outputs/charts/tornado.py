"""Tornado chart: which prior quantities move the headline probability most."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from toolkit.outputs.charts.style import (
    INK,
    MUTED,
    legend_below,
    new_figure,
    plain,
    scenario_style,
    shorten,
    styled,
)
from toolkit.outputs.sensitivity import Sensitivity


@styled
def tornado_chart(result: Sensitivity, count: int = 10) -> Figure:
    """Horizontal bars: the headline probability across each quantity's range.

    Parameters
    ----------
    result : Sensitivity
        The sensitivity analysis.
    count : int
        How many quantities to show, most influential on top.

    Returns
    -------
    Figure
        One bar per quantity from its value halved to doubled (gid ``tornado-<path>``), a
        line at the forecast's headline, and each tipping point written beside its bar.
    """
    shown = result.top(count)
    lead = result.lead
    base = float(result.probabilities[lead])
    figure = new_figure(10, 2.2 + 0.42 * max(len(shown), 1))
    axis = figure.add_subplot()
    rows = np.arange(len(shown))[::-1]
    low_style, high_style = scenario_style(0), scenario_style(1)
    for row, influence in zip(rows, shown, strict=True):
        at_low = float(influence.at_low[lead])
        at_high = float(influence.at_high[lead])
        for end, style, side in ((at_low, low_style, "low"), (at_high, high_style, "high")):
            bar = axis.barh(row, end - base, left=base, height=0.62, color=style.color,
                            hatch=style.hatch, edgecolor=INK, linewidth=0.4,
                            label=f"quantity {'halved' if side == 'low' else 'doubled'}")
            bar[0].set_gid(f"tornado-{influence.quantity.path}-{side}")
        if influence.tipping is not None:
            axis.text(1.01, row, f"tips to {shorten(influence.tipping_to or '', 28)} "
                      f"at {influence.tipping:.3g}", va="center", fontsize=7.5, color=MUTED,
                      transform=axis.get_yaxis_transform())
    axis.axvline(base, color=INK, linewidth=0.9)
    axis.set_yticks(rows, [plain(shorten(i.quantity.label, 58)) + f" ({i.quantity.value:g})"
                           for i in shown], fontsize=8)
    axis.set_xlim(0, 1)
    axis.set_xlabel(plain(f"P({result.labels[lead]})"), fontsize=9)
    handles, labels = axis.get_legend_handles_labels()
    legend_below(axis, handles[:2], ncols=2, label_lines=2)
    figure.suptitle(plain(f"What moves the forecast: {result.case}, as of "
                          f"{result.as_of.isoformat()} ({result.engine} engine)"),
                    x=0.01, ha="left", fontsize=11, color=INK)
    figure.supxlabel(plain(f"Each quantity halved and doubled, the rest as saved; the line is "
                           f"the forecast ({base:.0%}). {len(result.influences)} quantities, "
                           f"{result.forecasts} forecasts. scenario-toolkit"),
                     x=0.01, ha="left", fontsize=7, color=MUTED)
    return figure
