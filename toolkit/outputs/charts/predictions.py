"""For each indicator: what each scenario predicted against what was observed.

Predicted: the prior 90% interval (and median) of the indicator's monthly rate under each
scenario, from the case's expectations (``Case.prior_params`` and the family); for
``amount`` indicators the interval includes the reporting noise, so it is the prior
predictive of the reported monthly amount; for ``signal`` it is the share of signals.
Observed: each item's value divided by its exposure in months; ranges are drawn as ranges
and bounds as arrows, never as made-up points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from toolkit.core.defaults import LEVEL
from toolkit.families import Family
from toolkit.families.observation import Observation
from toolkit.outputs.charts.style import (
    INK,
    MUTED,
    decorate,
    new_figure,
    plain,
    scenario_style,
    shorten,
    styled,
    wrap,
)
from toolkit.outputs.forecast import Forecast

if TYPE_CHECKING:
    from toolkit.model.case import Case



def predicted_interval(case: Case, indicator: str, scenario: str,
                       level: float = LEVEL) -> tuple[float, float, float]:
    """``(low, median, high)`` of what ``scenario`` predicts for ``indicator`` per month.

    Parameters
    ----------
    case : Case
        The case (its expectations give the family parameters).
    indicator, scenario : str
        Ids.
    level : float
        Central interval probability.

    Returns
    -------
    tuple of float
        Monthly rate for count/occurrence, monthly reported amount for amount (reporting
        noise included), share for signal.
    """
    params = case.prior_params(indicator, scenario)
    q = np.array([(1 - level) / 2, 0.5, (1 + level) / 2])
    values = case.indicators[indicator].family.predicted_quantiles(params, q)
    return float(values[0]), float(values[1]), float(values[2])


@dataclass(frozen=True)
class Observed:
    """An item on the predicted scale: a point, a range, or a bound (``None`` = open)."""

    item_id: str
    low: float | None
    high: float | None

    @property
    def shape(self) -> str:
        """``point``, ``range``, ``at least`` or ``at most``."""
        if self.high is None:
            return "at least"
        if self.low is None:
            return "at most"
        return "point" if self.low == self.high else "range"


def observed_value(observation: Observation, family: Family) -> Observed:
    """The observed monthly rate (value / exposure months) or share of ``observation``."""
    return Observed(observation.item_id, *family.observed_range(observation))


def _axis_label(case: Case, indicator: str) -> str:
    spec = case.indicators[indicator]
    return spec.family.axis_label(spec)


@styled
def predictions_chart(forecast: Forecast, case: Case) -> Figure:
    """One panel per indicator with evidence: predicted intervals against observations.

    Parameters
    ----------
    forecast : Forecast
        Gives the items used.
    case : Case
        Gives indicators, expectations and observations.

    Returns
    -------
    Figure
        Predicted intervals are bars with gid ``pred-<indicator>-<scenario>`` (x from low to
        high); observations are lines with gid ``obs-<item>`` (x = observed rate(s)).
    """
    by_indicator: dict[str, list[int]] = {}
    for i, item in enumerate(forecast.items):
        by_indicator.setdefault(item.indicator, []).append(i)
    order = [ind for ind in case.used_indicators if ind in by_indicator]
    observations = case.observations(forecast.items)
    n_panels = max(len(order), 1)
    ncols = 2 if n_panels > 1 else 1
    nrows = math.ceil(n_panels / ncols)
    k = len(forecast.scenario_ids)
    sizes = [max(k + len(by_indicator[ind]) for ind in order[r * ncols:(r + 1) * ncols])
             if order else k for r in range(nrows)]
    heights = [1.3 + 0.28 * s for s in sizes]
    figure = new_figure(12, 2.6 + sum(heights))
    grid = figure.add_gridspec(nrows + 1, ncols, height_ratios=[*heights, 0.7])
    axes = [figure.add_subplot(grid[r, c]) for r in range(nrows) for c in range(ncols)]
    key = figure.add_subplot(grid[nrows, :])
    key.set_axis_off()
    for axis, indicator in zip(axes, order, strict=False):
        _panel(axis, forecast, case, indicator, [observations[i] for i in by_indicator[indicator]])
    for axis in axes[len(order):]:
        axis.set_axis_off()
    if not order:
        axes[0].text(0.5, 0.5, "No evidence items yet", ha="center", va="center",
                     transform=axes[0].transAxes, fontsize=11, color=MUTED)
    handles = [Patch(facecolor=scenario_style(j).color, hatch=scenario_style(j).hatch,
                     edgecolor=INK, label=plain(label))
               for j, label in enumerate(forecast.labels)]
    handles += [
        Line2D([], [], color=INK, marker="o", linestyle="none", label="observed value"),
        Line2D([], [], color=INK, marker="|", markersize=8, linewidth=1.5,
               label="observed range"),
        Line2D([], [], color=INK, marker=">", markersize=5, linewidth=1.2,
               label="bound (at least / at most)"),
    ]
    key.legend(handles=handles, loc="center", ncols=3)
    return decorate(figure, forecast, f"What each scenario predicted ({LEVEL:.0%} prior "
                                      "interval) against what was observed")


def _panel(axis: Axes, forecast: Forecast, case: Case, indicator: str,
           observations: list[Observation]) -> None:
    spec = case.indicators[indicator]
    log = spec.family.chart_log_scale
    k = len(forecast.scenario_ids)
    n = len(observations)
    top = n + k
    predicted = [predicted_interval(case, indicator, sid) for sid in forecast.scenario_ids]
    observed = [observed_value(o, spec.family) for o in observations]
    values = [v for lo, med, hi in predicted for v in (lo, hi)]
    values += [v for o in observed for v in (o.low, o.high) if v is not None]
    if log:
        axis.set_xscale("log")
        axis.xaxis.set_minor_locator(NullLocator())
        lo_v, hi_v = min(values), max(values)
        axis.set_xlim(lo_v / 4, hi_v * 6)
    else:
        axis.set_xlim(-0.02, 1.1)
    labels, ticks = [], []
    for j, sid in enumerate(forecast.scenario_ids):
        style = scenario_style(j)
        lo, med, hi = predicted[j]
        y = top - 1 - j
        bar = axis.barh(y, hi - lo, left=lo, height=0.62, color=style.color, hatch=style.hatch,
                        edgecolor=INK, linewidth=0.5, alpha=0.9)[0]
        bar.set_gid(f"pred-{indicator}-{sid}")
        axis.plot([med, med], [y - 0.31, y + 0.31], color=INK, linewidth=1.4)
        ticks.append(y)
        labels.append(wrap(plain(shorten(forecast.labels[j], 44)), 1.45, 7.5))
    axis.axhline(n - 0.5, color=MUTED, linewidth=0.6)
    for i, (obs, raw) in enumerate(zip(observed, observations, strict=True)):
        y = n - 1 - i
        item = next(it for it in forecast.items if it.id == raw.item_id)
        ticks.append(y)
        labels.append(plain(f"{item.id} ({item.reliability_text})"))
        end = _draw_observed(axis, obs, y, log)
        axis.annotate(plain(shorten(f"{item.value} {item.unit}", 24)), (end, y),
                      xytext=(5, 0), textcoords="offset points", va="center", fontsize=7,
                      color=MUTED)
    axis.set_yticks(ticks, labels, fontsize=7.5)
    axis.set_ylim(-0.7, top - 0.3)
    axis.tick_params(axis="y", length=0)
    axis.grid(axis="x", alpha=0.25, which="major")
    axis.set_xlabel(_axis_label(case, indicator), fontsize=8)
    axis.set_title(plain(shorten(f"{spec.label} ({spec.kind})", 60)), loc="left",
                   fontsize=9, color=INK)


def _draw_observed(axis: Axes, obs: Observed, y: float, log: bool) -> float:
    """Draw a point, a range with caps, or a bound with an arrow; return its right end."""
    def beyond(value: float, direction: int) -> float:
        low, high = axis.get_xlim()
        if log:
            return value * (high / low) ** (0.07 * direction)
        return value + 0.07 * direction * (high - low)

    if obs.shape == "point":
        line = axis.plot([obs.low], [y], marker="o", color=INK, markersize=5,
                         linestyle="none")[0]
    elif obs.shape == "range":
        line = axis.plot([obs.low, obs.high], [y, y], color=INK, linewidth=1.5, marker="|",
                         markersize=9)[0]
    else:
        start = obs.low if obs.shape == "at least" else obs.high
        direction = 1 if obs.shape == "at least" else -1
        line = axis.plot([start], [y], marker="|", markersize=9, color=INK,
                         linestyle="none")[0]
        axis.annotate("", xy=(beyond(start, direction), y), xytext=(start, y),
                      arrowprops={"arrowstyle": "-|>", "color": INK, "linewidth": 1.2,
                                  "shrinkA": 0, "shrinkB": 0, "mutation_scale": 9})
    line.set_gid(f"obs-{obs.item_id}")
    if obs.shape == "at least":
        return beyond(start, direction)
    return obs.high if obs.high is not None else obs.low
