"""Dynamic forecasts: regime probabilities month by month and at the horizon.

:func:`run_dynamic` lays the evidence on a monthly grid from the first month any item
covers to the horizon month, samples the transition matrix (:mod:`toolkit.inference.dynamic.model`),
then, for every posterior draw, runs the forward-backward passes in NumPy
(:mod:`toolkit.inference.dynamic.forward`). Point values are posterior means over draws; intervals
are
central credible intervals over draws (they reflect uncertainty in the transition matrix and
in the initial weights).

Outputs:

* **timeline** - for every month from the first evidence to the as-of month, the *filtered*
  probability of each regime (evidence up to that month) and the *smoothed* one (all
  evidence);
* **projection** - every month after the as-of month up to the horizon;
* **horizon** - ``P(regime in the horizon month | evidence)``;
* **reach** - ``P(the target regime holds in at least one month from the as-of month to the
  horizon month | evidence)`` (by default the first scenario).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from toolkit.core.defaults import LEVEL
from toolkit.core.errors import CaseError, Problem
from toolkit.core.yamlio import load_yaml
from toolkit.inference.diagnostics import chain_diagnostics
from toolkit.inference.dynamic import forward as fw
from toolkit.inference.dynamic.emissions import evidence_months, month_index, month_label
from toolkit.inference.dynamic.model import sample
from toolkit.inference.sampling import ChainsCallback, StopFlag, check_stop
from toolkit.model.case import Case
from toolkit.model.dynamics import TransitionPrior, transition_prior
from toolkit.model.evidence import EvidenceItem
from toolkit.model.priors import Dynamics
from toolkit.outputs.dynamic_summary import METHOD, to_dict
from toolkit.outputs.forecast import default_seed
from toolkit.outputs.language import NOT_CONVERGED_NOTE, estimative_word, percent, percent_range

Progress = Callable[[str, float], None]

#: Default draws per chain (see :func:`run_dynamic`).
DRAWS = 1500


@dataclass
class Band:
    """Posterior mean and central interval of probabilities over draws.

    Parameters
    ----------
    mean : ndarray, shape (..., K)
        Posterior means.
    low, high : ndarray, shape (..., K)
        Interval ends.
    """

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, draws: np.ndarray, level: float) -> Band:
        """Summarise ``draws`` (draws on axis 0)."""
        tail = (1 - level) / 2
        low, high = np.quantile(draws, [tail, 1 - tail], axis=0)
        return cls(draws.mean(axis=0), low, high)


@dataclass
class DynamicForecast:
    """The dynamic model's forecast (duck-compatible with the chart helpers' ``Forecast``)."""

    case: str
    title: str
    question: str
    horizon: dt.date
    as_of: dt.date
    seed: int
    scenario_ids: list[str]
    labels: list[str]
    prior: np.ndarray
    months: list[str]
    as_of_row: int
    filtered: Band
    smoothed: Band
    reach_by_month: Band
    interval_level: float
    target: int
    static_probabilities: np.ndarray
    transition_prior: TransitionPrior
    transition_mean: np.ndarray
    duration_median: np.ndarray
    items: list[EvidenceItem]
    items_by_row: list[list[str]]
    excluded: dict[str, list[str]]
    diagnostics: dict[str, Any] = field(default_factory=dict)
    input_hashes: dict[str, str] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    engine: str = "pymc"
    model: str = "dynamic"

    @property
    def horizon_row(self) -> int:
        """Grid row of the horizon month.

        The last row unless evidence runs past the horizon (an earlier ``--horizon`` than
        the case's): the timeline then goes on to the evidence's last month.
        """
        year, month = (int(part) for part in self.months[0].split("-"))
        row = (self.horizon.year - year) * 12 + self.horizon.month - month
        return min(max(row, 0), len(self.months) - 1)

    @property
    def probabilities(self) -> np.ndarray:
        """``P(regime in the horizon month)``, posterior mean."""
        return self.smoothed.mean[self.horizon_row]

    @property
    def intervals(self) -> np.ndarray:
        """Credible intervals of :attr:`probabilities`, shape (K, 2)."""
        return np.stack([self.smoothed.low[self.horizon_row],
                         self.smoothed.high[self.horizon_row]], axis=1)

    @property
    def current(self) -> np.ndarray:
        """Filtered probabilities in the as-of month."""
        return self.filtered.mean[self.as_of_row]

    @property
    def reach(self) -> tuple[float, float, float]:
        """``(probability, low, high)`` of reaching the target regime by the horizon."""
        band = self.reach_by_month  # its rows are the timeline's last ones (from the as-of)
        row = self.horizon_row - (len(self.months) - len(band.mean))
        return float(band.mean[row]), float(band.low[row]), float(band.high[row])

    @property
    def item_ids(self) -> list[str]:
        """Ids of the evidence items read, in report order (what a saved run records)."""
        return [item.id for item in self.items]

    @property
    def converged(self) -> bool:
        """Whether the sampler's diagnostics pass."""
        return bool(self.diagnostics.get("converged", False))

    def headline(self) -> str:
        """One decision-ready sentence: the horizon, the target's arrival, the present."""
        k = int(np.argmax(self.probabilities))
        lo, hi = self.intervals[k]
        p_reach, r_lo, r_hi = self.reach
        now = int(np.argmax(self.current))
        sentence = (
            f"In {self.months[self.horizon_row]} (horizon) {self.labels[k]} is "
            f"{estimative_word(self.probabilities[k])} ({percent(self.probabilities[k])}, "
            f"{percent_range(lo, hi)}); {self.labels[self.target]} in at least one month "
            f"from {self.months[self.as_of_row]} to the horizon: {percent(p_reach)} "
            f"({percent_range(r_lo, r_hi)}); in {self.months[self.as_of_row]} the most "
            f"probable regime is {self.labels[now]} ({percent(self.current[now])})"
        )
        if not self.converged:
            sentence += NOT_CONVERGED_NOTE
        return sentence + "."

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the ``--model dynamic --json`` output)."""
        return to_dict(self)


def run_dynamic(
    case: Case,
    horizon: dt.date | None = None,
    as_of: dt.date | None = None,
    seed: int | None = None,
    level: float = LEVEL,
    weights: np.ndarray | None = None,
    dynamics: Dynamics | None = None,
    draws: int = DRAWS,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    progress: Progress | None = None,
    selection: tuple[list[EvidenceItem], dict[str, list[str]]] | None = None,
    on_chains: ChainsCallback | None = None,
    stop: StopFlag | None = None,
) -> DynamicForecast:
    """Forecast a case with the dynamic (regime-switching) model.

    Parameters
    ----------
    case : Case
        A loaded case.
    horizon : date, optional
        Forecast horizon (default: the case's); on or after ``as_of``.
    as_of : date, optional
        Use only items reported on or before this date (default: today).
    seed : int, optional
        Random seed (default: derived from the case name).
    level : float
        Credible interval probability.
    weights : ndarray, optional
        Scenario prior weights overriding the case's (the initial distribution's mean).
    dynamics : Dynamics, optional
        Transition prior overriding the priors file's ``dynamics:`` section.
    draws, tune, chains : int
        Sampler settings (per chain). The default 1500 draws keep the r_hat and ESS gate
        passing with a margin: the smallest transition probabilities (Dirichlet parameters
        well below 1) have long tails; at 1000 draws their r_hat reached 1.009 on some seeds.
    cores : int, optional
        Parallel chains (default: ``min(chains, CPU count)``).
    progress : callable, optional
        ``progress(message, fraction)`` during long work.
    selection : (items, excluded), optional
        The evidence to read and what was left out and why (default:
        :meth:`~toolkit.model.case.Case.select` at ``as_of``; the dashboard passes its
        what-if selection).
    on_chains : callable, optional
        ``on_chains(states)`` while sampling, one
        :class:`~toolkit.inference.sampling.ChainState` per chain.
    stop : threading.Event, optional
        Once set, the run stops with :class:`~toolkit.inference.sampling.Cancelled`.

    Returns
    -------
    DynamicForecast
        Timeline, projection, horizon and reach probabilities with intervals.

    Raises
    ------
    CaseError
        If the horizon is before the as-of date, the ``dynamics:`` section is inconsistent,
        or the evidence is impossible under every regime.
    """
    started = time.perf_counter()
    report = progress or (lambda message, fraction: None)
    as_of = as_of or dt.date.today()
    horizon = horizon or case.priors.horizon
    seed = default_seed(case.name) if seed is None else seed
    shown = case.paths.shown(case.paths.priors)
    if horizon < as_of:
        raise CaseError([Problem("--horizon", None, "horizon",
                                 f"{horizon.isoformat()} is before the as-of date "
                                 f"{as_of.isoformat()}", "give a horizon on or after it")])
    try:
        prior = transition_prior(case.priors, dynamics, shown)
    except CaseError:
        if dynamics is not None:
            raise
        document, _ = load_yaml(case.paths.priors, shown)  # again, for line numbers
        prior = transition_prior(case.priors, None, shown, document)
    w = np.asarray(case.priors.weights if weights is None else weights, float)
    w = w / w.sum()
    items, excluded = case.select(as_of) if selection is None else selection
    report("computing the evidence's emissions", 0.05)
    months = evidence_months(case, items, as_of)
    first = months.first_month
    rows = max(month_index(horizon) - first, months.last_row) + 1
    emissions = months.emissions(rows)
    _check_possible(case, w, prior, emissions)
    report("sampling the transition matrix", 0.15)
    cores = cores or min(chains, os.cpu_count() or 1)
    posterior = sample(prior, w, case.priors.weight_concentration,
                       emissions[: months.last_row + 1], seed, draws, tune, chains, cores,
                       progress=progress, on_chains=on_chains, stop=stop, span=(0.15, 0.85))
    check_stop(stop)
    report("filtering and projecting", 0.85)
    n = chains * draws
    initial = posterior.initial.reshape(n, -1)
    transition = posterior.transition.reshape(n, *posterior.transition.shape[2:])
    as_of_row = month_index(as_of) - first
    _, filtered = fw.forward(initial, transition, emissions)
    smooth = fw.smoothed(initial, transition, emissions)
    reach = 1.0 - fw.avoid_probability(initial, transition, emissions, prior.target, as_of_row)
    at = month_index(horizon) - first  # evidence may run on past the horizon
    derived = {f"horizon[{k}]": smooth[:, at, k].reshape(chains, draws)
               for k in range(len(w))}
    derived["reach"] = reach[:, at - as_of_row].reshape(chains, draws)  # from the as-of
    diagnostics = chain_diagnostics(posterior, derived, METHOD)
    diagnostics.update(draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
                       seconds=time.perf_counter() - started, **posterior.timing)
    stay = np.diagonal(transition, axis1=1, axis2=2)
    with np.errstate(divide="ignore"):
        duration = np.median(1.0 / (1.0 - stay), axis=0)
    log_static = np.log(np.where(w > 0, w, 1.0)) + months.log_marginal
    log_static = np.where(w > 0, log_static, -np.inf)
    static = np.exp(log_static - log_static.max())
    report("done", 1.0)
    return DynamicForecast(
        case=case.name, title=case.priors.title, question=case.priors.question,
        horizon=horizon, as_of=as_of, seed=seed, scenario_ids=case.priors.scenario_ids,
        labels=[s.label for s in case.priors.scenarios], prior=w,
        months=[month_label(first + r) for r in range(rows)], as_of_row=as_of_row,
        filtered=Band.of(filtered, level), smoothed=Band.of(smooth, level),
        reach_by_month=Band.of(reach, level), interval_level=level, target=prior.target,
        static_probabilities=static / static.sum(), transition_prior=prior,
        transition_mean=transition.mean(axis=0), duration_median=duration,
        items=months.items, items_by_row=months.items_by_row(rows), excluded=excluded,
        diagnostics=diagnostics, input_hashes=case.input_hashes,
        extras={"posterior": posterior.tree, "initial_draws": initial,
                "transition_draws": transition, "emissions": emissions},
    )


def _check_possible(case: Case, weights: np.ndarray, prior: TransitionPrior,
                    emissions: np.ndarray) -> None:
    # Whether some path of regimes explains the evidence depends only on which initial
    # regimes and transitions are possible, so the prior means decide it.
    total, _ = fw.forward(weights[None], prior.expected[None], emissions)
    if not np.isfinite(total[0, -1]):
        raise CaseError([Problem(case.paths.shown(case.paths.evidence), None, "",
                                 "the evidence is impossible under every path of regimes the "
                                 "dynamics allow", "check values, units and periods, or widen "
                                 "the expectations or the possible transitions")])
