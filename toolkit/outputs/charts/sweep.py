"""The response of a sweep: each scenario's probability against each varied quantity."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.figure import Figure

from toolkit.outputs.charts.style import INK, MUTED, new_figure, plain, scenario_style, styled

if TYPE_CHECKING:
    from toolkit.model.case import Case


@styled
def response_chart(table: pd.DataFrame, paths: list[str], case: Case) -> Figure:
    """One panel per varied quantity: each scenario's mean probability at each of its values.

    With one quantity the lines are the sweep itself; with several, each panel averages
    over the other quantities' values (a partial dependence).
    """
    figure = new_figure(10, 1.6 + 2.6 * len(paths))
    for n, path in enumerate(paths):
        axis = figure.add_subplot(len(paths), 1, n + 1)
        means = table.groupby(path)[[f"p_{s.id}" for s in case.priors.scenarios]].mean()
        for k, scenario in enumerate(case.priors.scenarios):
            style = scenario_style(k)
            axis.plot(means.index, means[f"p_{scenario.id}"], color=style.color,
                      marker=style.marker, markersize=3, label=plain(scenario.label))
        axis.set_ylim(0, 1)
        axis.set_xlabel(plain(path), fontsize=9)
        axis.set_ylabel("probability" if len(paths) == 1 else "mean probability", fontsize=9)
        if n == 0:
            axis.legend(fontsize=8, frameon=False, loc="best")
    figure.suptitle(plain(f"Sweep of {case.name}: {len(table)} settings"), x=0.01,
                    ha="left", fontsize=11, color=INK)
    figure.supxlabel("scenario-toolkit sweep", x=0.01, ha="left", fontsize=7, color=MUTED)
    return figure
