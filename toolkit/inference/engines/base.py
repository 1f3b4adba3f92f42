"""The engine interface shared by the exact and PyMC engines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from toolkit.families.observation import Observation
    from toolkit.model.case import Case

ENGINES = ("exact", "pymc")


@dataclass
class EngineResult:
    """What an engine computes for one forecast.

    Parameters
    ----------
    increments : ndarray, shape (n_items, n_scenarios)
        ``log p(item_i | items before i, scenario k)``, with reliability applied.
    log_marginal : ndarray, shape (n_scenarios,)
        ``log p(all evidence | scenario k)``: the column sums of ``increments`` plus
        ``closing``.
    closing : ndarray, shape (n_scenarios,)
        The watched quiet time after each watched indicator's last logged event, up to
        the forecast date (no item carries it); zeros without watched indicators.
    diagnostics : dict
        Engine-specific diagnostics (convergence, timing, method).
    extras : dict
        Anything else the engine produced (posterior draws, predictive draws).
    """

    increments: np.ndarray
    log_marginal: np.ndarray
    diagnostics: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    closing: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.closing is None:
            self.closing = np.zeros(np.shape(self.log_marginal))


def by_indicator(observations: list[Observation]) -> dict[str, list[int]]:
    """Positions of each indicator's observations, in report order (first seen first)."""
    out: dict[str, list[int]] = {}
    for index, obs in enumerate(observations):
        out.setdefault(obs.indicator, []).append(index)
    return out


def prefix_increments(cumulative: np.ndarray,
                      groups: dict[str, list[int]]) -> np.ndarray:
    """Per-item increments from each indicator's prefix log marginals (rows of ``cumulative``).

    An item after one that made the evidence impossible under a scenario adds nothing there
    (avoids ``-inf - -inf``).
    """
    increments = cumulative.copy()
    for indices in groups.values():
        for previous, now in zip(indices, indices[1:], strict=False):
            finite = np.isfinite(cumulative[previous])
            increments[now] = np.where(finite, cumulative[now] - cumulative[previous], 0.0)
    return increments


def split_closing(increments: np.ndarray,
                  observations: list[Observation]) -> tuple[np.ndarray, np.ndarray]:
    """Split per-observation increments into item rows and the summed quiet-time rows.

    Quiet observations (``Observation.synthetic``) follow the items
    (:meth:`toolkit.model.case.Case.observations`).
    """
    items = sum(not o.synthetic for o in observations)
    return increments[:items], increments[items:].sum(axis=0)


class Engine(Protocol):
    """An inference engine: evidence in, per-scenario log marginal likelihoods out."""

    name: str

    def run(self, case: Case, observations: list[Observation], seed: int) -> EngineResult:
        """Compute the per-item, per-scenario log marginal likelihood increments."""
        ...


def get_engine(name: str, **options: Any) -> Engine:
    """Return an engine by name (``exact`` or ``pymc``)."""
    if name == "exact":
        from toolkit.inference.engines.exact import ExactEngine

        return ExactEngine()
    if name == "pymc":
        from toolkit.inference.engines.pymc_engine import PymcEngine

        return PymcEngine(**options)
    raise ValueError(f"unknown engine {name!r}; use one of: {', '.join(ENGINES)}")
