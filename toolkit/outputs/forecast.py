"""Forecasts: posterior scenario probabilities, their trail, attribution and intervals.

Everything here rests on one identity: ``P(k | evidence) ∝ w_k m_k(evidence)``. An engine
supplies each item's incremental log marginal likelihood per scenario; the rest follows:

* **trail** - the posterior after each item, in report order (row 0 is the prior);
* **attribution** - each item's log Bayes factor per scenario, centred across scenarios so
  that prior log-odds plus the summed attributions give the posterior log-odds exactly;
* **likelihood ratio** of an item for scenario k against the others at the time it arrived;
* **intervals** - see :mod:`toolkit.outputs.intervals`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from toolkit import __version__
from toolkit.core.defaults import LEVEL
from toolkit.core.errors import CaseError, Problem
from toolkit.core.mathutil import logsumexp
from toolkit.inference.engines import EngineResult, get_engine
from toolkit.model.case import Case
from toolkit.model.evidence import EvidenceItem
from toolkit.outputs.intervals import weight_intervals
from toolkit.outputs.language import (
    NOT_CONVERGED_NOTE,
    estimative_word,
    percent,
    percent_range,
)

INTERVAL_MEANING = (
    "central credible interval of P(scenario | evidence) when the prior weights are held "
    "as Dirichlet(weight_concentration x weights); its mean is the point probability"
)


def default_seed(case_name: str) -> int:
    """Seed derived from the case name, so runs are reproducible by default."""
    return sum(map(ord, case_name))


@dataclass
class Forecast:
    """Posterior scenario probabilities with their trail, attribution and diagnostics."""

    case: str
    title: str
    question: str
    horizon: dt.date
    as_of: dt.date
    engine: str
    seed: int
    scenario_ids: list[str]
    labels: list[str]
    prior: np.ndarray
    probabilities: np.ndarray
    intervals: np.ndarray
    interval_level: float
    items: list[EvidenceItem]
    excluded: dict[str, list[str]]
    trail: np.ndarray
    increments: np.ndarray
    diagnostics: dict[str, Any] = field(default_factory=dict)
    input_hashes: dict[str, str] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def item_ids(self) -> list[str]:
        """Ids of the evidence items used, in report order."""
        return [item.id for item in self.items]

    @property
    def attribution(self) -> np.ndarray:
        """Each item's log Bayes factor per scenario, centred across live scenarios."""
        live = self.prior > 0
        centred = self.increments - self.increments[:, live].mean(axis=1, keepdims=True)
        centred[:, ~live] = 0.0
        return centred

    @property
    def likelihood_ratios(self) -> np.ndarray:
        """LR of each item for each scenario against all others, when it arrived."""
        before = self.trail[:-1]
        ratios = np.ones_like(self.increments)
        for i in range(self.increments.shape[0]):
            for k in range(self.increments.shape[1]):
                others = np.delete(np.arange(self.increments.shape[1]), k)
                p_others = before[i, others]
                if p_others.sum() <= 0 or before[i, k] <= 0:
                    ratios[i, k] = np.nan
                    continue
                with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                    log_other = logsumexp(np.log(p_others) + self.increments[i, others]) - np.log(
                        p_others.sum())
                    ratios[i, k] = np.exp(self.increments[i, k] - log_other)
        return ratios

    @property
    def converged(self) -> bool:
        """Whether the engine's diagnostics pass (always true for the exact engine)."""
        return bool(self.diagnostics.get("converged", True))

    def drivers(self, top: int = 3) -> list[dict[str, Any]]:
        """The items that moved each scenario most, largest change first.

        Returns
        -------
        list of dict
            ``scenario``, ``item``, ``change`` (probability points), ``from``, ``to``,
            ``likelihood_ratio`` for the ``top`` largest moves overall.
        """
        deltas = np.diff(self.trail, axis=0)
        ratios = self.likelihood_ratios
        order = np.dstack(np.unravel_index(np.argsort(-np.abs(deltas), axis=None),
                                           deltas.shape))[0]
        out = []
        for i, k in order[:top]:
            if abs(deltas[i, k]) < 1e-4:
                break
            out.append({
                "scenario": self.scenario_ids[k],
                "item": self.items[i].id,
                "indicator": self.items[i].indicator,
                "change": float(deltas[i, k]),
                "from": float(self.trail[i, k]),
                "to": float(self.trail[i + 1, k]),
                "likelihood_ratio": float(ratios[i, k]),
            })
        return out

    def headline(self) -> str:
        """One decision-ready sentence about the most probable scenario."""
        k = int(np.argmax(self.probabilities))
        lo, hi = self.intervals[k]
        sentence = (
            f"{self.labels[k]} is {estimative_word(self.probabilities[k])} "
            f"({percent(self.probabilities[k])}, interval {percent_range(lo, hi)})"
        )
        moves = [d for d in self.drivers(top=10) if d["scenario"] == self.scenario_ids[k]]
        if moves:
            d = moves[0]
            now, before = percent(self.probabilities[k]), percent(self.prior[k])
            direction = "unchanged at" if now == before else (
                "up from" if self.probabilities[k] > self.prior[k] else "down from")
            sentence += (
                f", {direction} {before} before the evidence; the largest "
                f"move was {d['item']} ({percent(d['from'])} to {percent(d['to'])}, "
                f"likelihood ratio {d['likelihood_ratio']:.2g})"
            )
        if not self.converged:
            sentence += NOT_CONVERGED_NOTE
        return sentence + "."

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the ``--json`` output)."""
        attribution = self.attribution
        return {
            "case": self.case,
            "title": self.title,
            "question": self.question,
            "horizon": self.horizon.isoformat(),
            "as_of": self.as_of.isoformat(),
            "engine": self.engine,
            "seed": self.seed,
            "converged": self.converged,
            "headline": self.headline(),
            "scenarios": [
                {
                    "id": sid,
                    "label": label,
                    "prior": float(self.prior[k]),
                    "probability": float(self.probabilities[k]),
                    "interval": [float(self.intervals[k, 0]), float(self.intervals[k, 1])],
                    "estimate": estimative_word(float(self.probabilities[k])),
                }
                for k, (sid, label) in enumerate(zip(self.scenario_ids, self.labels, strict=True))
            ],
            "interval": {"level": self.interval_level, "meaning": INTERVAL_MEANING},
            "evidence_used": self.item_ids,
            "evidence_excluded": self.excluded,
            "trail": [
                {
                    "after": None if i == 0 else self.items[i - 1].id,
                    "reported_on": None if i == 0 else self.items[i - 1].reported_on.isoformat(),
                    "probabilities": dict(zip(self.scenario_ids, map(float, row), strict=True)),
                }
                for i, row in enumerate(self.trail)
            ],
            "attribution": [
                {
                    "item": item.id,
                    "indicator": item.indicator,
                    "log_bayes_factor": dict(
                        zip(self.scenario_ids, map(float, attribution[i]), strict=True)),
                }
                for i, item in enumerate(self.items)
            ],
            "drivers": self.drivers(),
            "diagnostics": _jsonable(self.diagnostics),
            "inputs": self.input_hashes,
            "toolkit_version": __version__,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def assemble(
    case: Case,
    items: list[EvidenceItem],
    excluded: dict[str, list[str]],
    result: EngineResult,
    engine: str,
    as_of: dt.date,
    seed: int,
    level: float = LEVEL,
    weights: np.ndarray | None = None,
) -> Forecast:
    """Build a :class:`Forecast` from an engine's per-item log marginal likelihoods.

    Parameters
    ----------
    case : Case
        The case.
    items : list of EvidenceItem
        Items used, in report order (rows of ``result.increments``).
    excluded : dict
        Ids left out, by reason.
    result : EngineResult
        The engine's output.
    engine : str
        Engine name.
    as_of : date
        The forecast date.
    seed : int
        Seed used (recorded, and seeds the interval draws).
    level : float
        Credible interval probability.
    weights : ndarray, optional
        Prior weights overriding the case's (used by notebook sliders; no rerun needed);
        kept as given in ``extras["weights"]`` (the prior is their normalised form).

    Returns
    -------
    Forecast
        The assembled forecast (its ``extras`` a copy of the engine's, never shared).

    Raises
    ------
    CaseError
        If the evidence is impossible under every scenario with positive weight.
    """
    prior = np.asarray(case.priors.weights if weights is None else weights, float)
    prior = prior / prior.sum()
    with np.errstate(divide="ignore"):
        log_prior = np.log(prior)
    cumulative = np.vstack([np.zeros(prior.size), np.cumsum(result.increments, axis=0),
                            result.log_marginal])
    log_post = log_prior + cumulative
    top = log_post.max(axis=1, keepdims=True)
    if not np.all(np.isfinite(top)):
        raise CaseError([Problem(case.paths.shown(case.paths.evidence), None, "",
                                 "the evidence is impossible under every scenario with a "
                                 "positive weight", "check values, units and periods, or widen "
                                 "the expectations")])
    posterior = np.exp(log_post - top)
    posterior /= posterior.sum(axis=1, keepdims=True)
    trail, final = posterior[:-1], posterior[-1]
    intervals = weight_intervals(prior, result.log_marginal, case.priors.weight_concentration,
                                 level=level, seed=seed)
    return Forecast(
        case=case.name, title=case.priors.title, question=case.priors.question,
        horizon=case.priors.horizon, as_of=as_of, engine=engine, seed=seed,
        scenario_ids=case.priors.scenario_ids, labels=[s.label for s in case.priors.scenarios],
        prior=prior, probabilities=final, intervals=intervals, interval_level=level,
        items=items, excluded=excluded, trail=trail, increments=result.increments,
        diagnostics=result.diagnostics, input_hashes=case.input_hashes,
        extras={**result.extras, **({} if weights is None else
                                    {"weights": [float(w) for w in weights]})},
    )


def run_forecast(
    case: Case,
    engine: str = "exact",
    as_of: dt.date | None = None,
    seed: int | None = None,
    level: float = LEVEL,
    weights: np.ndarray | None = None,
    **engine_options: Any,
) -> Forecast:
    """Forecast a case with the named engine.

    Parameters
    ----------
    case : Case
        A loaded case.
    engine : {"exact", "pymc"}
        Which engine computes the marginal likelihoods.
    as_of : date, optional
        Use only items reported on or before this date (default: today).
    seed : int, optional
        Random seed (default: derived from the case name).
    level : float
        Credible interval probability.
    weights : ndarray, optional
        Prior weights overriding the case's.
    **engine_options
        Passed to the engine (e.g. ``draws``, ``chains`` for PyMC).

    Returns
    -------
    Forecast
        The forecast.
    """
    as_of = as_of or dt.date.today()
    seed = default_seed(case.name) if seed is None else seed
    items, excluded = case.select(as_of)
    observations = case.observations(items, as_of)
    result = get_engine(engine, **engine_options).run(case, observations, seed)
    return assemble(case, items, excluded, result, engine, as_of, seed, level, weights)
