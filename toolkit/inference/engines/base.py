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
        ``log p(item_i | items before i, scenario k)``, tempered by reliability.
    log_marginal : ndarray, shape (n_scenarios,)
        ``log p(all items | scenario k)``; equals the column sums of ``increments``.
    diagnostics : dict
        Engine-specific diagnostics (convergence, timing, method).
    extras : dict
        Anything else the engine produced (posterior draws, predictive draws).
    """

    increments: np.ndarray
    log_marginal: np.ndarray
    diagnostics: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


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
