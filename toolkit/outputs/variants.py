"""Scenario probabilities of many variants of one case's priors, computed fast.

Sensitivity analysis and sweeps ask for the forecast of hundreds of prior settings of one
case at one date. Given the scenario, indicators are independent, so the log marginal
likelihood of the evidence is a sum over indicators, and a change of one expectation
changes one term. :class:`Variants` keeps each indicator's term, keyed by everything it
reads (that indicator's expectations and the case-wide settings), and reruns the exact
engine on that indicator's items only when the key is new. Weights need no rerun at all
(``P(k | evidence) ∝ w_k m_k``). The PyMC engine has no such split: each variant is a full
run with the same seed (its compiled model is reused, ``core/caches.py``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np

from toolkit.core.errors import CaseError, Problem
from toolkit.inference.engines import get_engine
from toolkit.model.case import Case
from toolkit.model.evidence import EvidenceItem
from toolkit.model.variations import vary
from toolkit.outputs.forecast import default_seed

#: Case-wide priors settings every indicator's term reads.
SHARED = ("start", "horizon", "wander", "walk", "bounds", "reliability_reading", "watch")


class Variants:
    """Forecasts of variants of ``case`` at ``as_of``.

    Parameters
    ----------
    case : Case
        The case as loaded.
    as_of : date, optional
        Evidence reported on or before this date counts (default: today).
    engine : {"exact", "pymc"}
        The engine (exact by default; see the module docstring).
    seed : int, optional
        Seed of the PyMC engine (default: derived from the case name).
    items : list of EvidenceItem, optional
        The evidence to read (default: what :meth:`Case.select` counts at ``as_of``; the
        dashboard passes its what-if selection, a report its forecast's items).
    **engine_options
        Passed to the PyMC engine.
    """

    def __init__(self, case: Case, as_of: dt.date | None = None, engine: str = "exact",
                 seed: int | None = None, items: list[EvidenceItem] | None = None,
                 **engine_options: Any) -> None:
        self.case = case
        self.as_of = as_of or dt.date.today()
        self.engine = engine
        self.seed = default_seed(case.name) if seed is None else seed
        self.engine_options = engine_options
        self.items = case.select(self.as_of)[0] if items is None else list(items)
        self._terms: dict[tuple[str, str], np.ndarray] = {}
        self.reruns = 0
        self.base = self.probabilities({})

    @property
    def scenario_ids(self) -> list[str]:
        """Scenario ids in file order."""
        return self.case.priors.scenario_ids

    def log_marginal(self, variant: Case) -> np.ndarray:
        """``log p(evidence | scenario)`` under ``variant``'s priors, per scenario."""
        if self.engine != "exact":
            engine = get_engine(self.engine, **self.engine_options)
            observations = variant.observations(self.items, self.as_of)
            return engine.run(variant, observations, self.seed).log_marginal
        plain = variant.priors.model_dump(mode="json")
        shared = json.dumps({name: plain[name] for name in SHARED}, sort_keys=True)
        observations = None
        total = np.zeros(len(variant.priors.scenario_ids))
        for indicator in variant.used_indicators:
            own = json.dumps(plain["expectations"][indicator], sort_keys=True)
            key = (indicator, shared + own)
            if key not in self._terms:
                if observations is None:
                    observations = _by_indicator(variant, self.items, self.as_of)
                chosen = observations.get(indicator, [])
                result = get_engine("exact").run(variant, chosen) if chosen else None
                self._terms[key] = (np.zeros_like(total) if result is None
                                    else result.log_marginal)
                self.reruns += 1
            total = total + self._terms[key]
        return total

    def probabilities(self, changes: Mapping[str, float]) -> np.ndarray:
        """Scenario probabilities with the priors changed at ``changes``' paths.

        Raises
        ------
        CaseError
            If a change is invalid (see :func:`toolkit.model.variations.vary`).
        """
        variant = vary(self.case, changes)
        weights = np.asarray(variant.priors.weights, float)
        with np.errstate(divide="ignore"):
            log_post = np.log(weights) + self.log_marginal(variant)
        top = float(np.max(log_post))
        if not np.isfinite(top):
            shown = ", ".join(f"{p}={v:g}" for p, v in changes.items()) or "the priors as saved"
            raise CaseError([Problem(variant.paths.shown(variant.paths.evidence), None, "",
                                     f"the evidence is impossible under every scenario with "
                                     f"{shown}", "choose values that leave some scenario "
                                     "possible")])
        return np.exp(log_post - top) / np.exp(log_post - top).sum()


def _by_indicator(case: Case, items: list, as_of: dt.date) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for obs in case.observations(items, as_of):
        out[obs.indicator].append(obs)
    return out
