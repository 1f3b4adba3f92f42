"""The dynamic model's transition prior, stated in analysts' terms.

The priors file's optional ``dynamics:`` section (see ``docs/formats.md``) says how the
scenarios, read here as *regimes* of the relationship, may change from month to month:

``typical_duration_months``
    A regime that "typically lasts D months" stays in place from one month to the next with
    probability ``1 - 1/D`` (a geometric spell of mean length D). One number for every regime,
    or a mapping ``{regime: months}`` (regimes not listed use the default, 24).
``transitions``
    ``{from: {to: weight}}``: when regime ``from`` ends, where it goes, as relative weights.
    A ``from`` regime that is not listed may move to every other regime with equal weight;
    once listed, only the destinations it lists with a weight above zero are possible.
    A regime whose destinations are all zero never ends (an absorbing regime).
``concentration``
    How firmly these beliefs are held: row ``k`` of the monthly transition matrix has the
    prior ``Dirichlet(concentration x expected row k)`` over its possible entries, so it
    weighs like ``concentration`` months of observed transitions out of regime ``k``.
``target``
    The regime whose arrival is forecast ("P(reaching it before the horizon)"); default:
    the first scenario.

So the expected row of regime ``k`` is ``1 - 1/D_k`` on the diagonal and
``(1/D_k) * w_kj / sum_j w_kj`` elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from toolkit.core.errors import CaseError, Problem
from toolkit.core.yamlio import line_of
from toolkit.model.priors import Dynamics, Priors

#: Defaults of the ``dynamics:`` section (used when the section or a field is absent).
DEFAULTS = Dynamics()


@dataclass(frozen=True)
class TransitionPrior:
    """Dirichlet priors on the rows of the monthly transition matrix.

    Parameters
    ----------
    scenario_ids : tuple of str
        Regimes in scenario order.
    expected : ndarray, shape (K, K)
        Prior mean of the transition matrix (rows sum to 1, zero where ruled out).
    allowed : ndarray of bool, shape (K, K)
        Which transitions are possible (the diagonal always is).
    concentration : float
        Dirichlet pseudo-count of each row.
    durations : ndarray, shape (K,)
        Typical duration of each regime in months (``inf`` for an absorbing regime).
    target : int
        Index of the regime whose arrival is forecast.
    """

    scenario_ids: tuple[str, ...]
    expected: np.ndarray
    allowed: np.ndarray
    concentration: float
    durations: np.ndarray
    target: int

    @property
    def alpha(self) -> np.ndarray:
        """Dirichlet parameters of every row (zero where a transition is ruled out)."""
        return self.concentration * self.expected

    def row_alpha(self, k: int) -> np.ndarray:
        """Dirichlet parameters of row ``k`` over its possible entries."""
        return self.alpha[k, self.allowed[k]]

    def reachable(self, initial: np.ndarray) -> np.ndarray:
        """Regimes the chain can ever be in, starting from ``initial`` (a mask).

        Parameters
        ----------
        initial : ndarray, shape (K,)
            Initial probabilities (the scenario prior weights).

        Returns
        -------
        ndarray of bool, shape (K,)
            True where some path of possible transitions leads from a regime of positive
            initial probability.
        """
        seen = np.asarray(initial) > 0
        while True:
            grown = seen | self.allowed[seen].any(axis=0)
            if np.array_equal(grown, seen):
                return seen
            seen = grown

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary of the prior (expected matrix, durations, concentration)."""
        ids = self.scenario_ids
        return {
            "concentration": self.concentration,
            "typical_duration_months": {
                sid: (None if np.isinf(d) else float(d)) for sid, d in zip(ids, self.durations,
                                                                          strict=True)},
            "expected": {a: {b: float(self.expected[i, j]) for j, b in enumerate(ids)}
                         for i, a in enumerate(ids)},
            "target": ids[self.target],
        }


def check_dynamics(priors: Priors, shown: str, document: Any = None) -> list[Problem]:
    """Cross-check the ``dynamics:`` section against the scenarios.

    Parameters
    ----------
    priors : Priors
        The parsed priors file.
    shown : str
        How the priors file is named in messages.
    document : Any, optional
        The round-trip YAML document, for line numbers.

    Returns
    -------
    list of Problem
        Unknown regime ids, self-transitions listed under ``transitions``.
    """
    dynamics = priors.dynamics
    if dynamics is None:
        return []
    ids = priors.scenario_ids
    known = ", ".join(ids)
    problems: list[Problem] = []

    def bad(loc: tuple, message: str, fix: str) -> None:
        line = line_of(document, ("dynamics", *loc)) if document is not None else None
        dotted = ".".join(str(p) for p in ("dynamics", *loc))
        problems.append(Problem(shown, line, dotted, message, fix))

    if isinstance(dynamics.typical_duration_months, dict):
        for sid in dynamics.typical_duration_months:
            if sid not in ids:
                bad(("typical_duration_months", sid), f"unknown scenario {sid!r}",
                    f"use one of: {known}")
    for source, targets in dynamics.transitions.items():
        if source not in ids:
            bad(("transitions", source), f"unknown scenario {source!r}", f"use one of: {known}")
            continue
        for dest in targets:
            if dest == source:
                bad(("transitions", source, dest), "a regime cannot transition to itself",
                    "set how long a regime lasts with typical_duration_months instead")
            elif dest not in ids:
                bad(("transitions", source, dest), f"unknown scenario {dest!r}",
                    f"use one of: {known}")
    if dynamics.target is not None and dynamics.target not in ids:
        bad(("target",), f"unknown scenario {dynamics.target!r}", f"use one of: {known}")
    return problems


def transition_prior(
    priors: Priors, dynamics: Dynamics | None = None, shown: str = "priors",
    document: Any = None,
) -> TransitionPrior:
    """Turn the ``dynamics:`` section (or ``dynamics``) into Dirichlet row priors.

    Parameters
    ----------
    priors : Priors
        The case's priors (scenarios; ``priors.dynamics`` unless ``dynamics`` is given).
    dynamics : Dynamics, optional
        Overrides the priors file's section (e.g. for the static-limit check).
    shown : str
        How the priors file is named in messages.
    document : Any, optional
        The round-trip YAML document, for line numbers in messages.

    Returns
    -------
    TransitionPrior
        The prior.

    Raises
    ------
    CaseError
        If the section names unknown scenarios or lists a self-transition.
    """
    spec = dynamics or priors.dynamics or DEFAULTS
    problems = check_dynamics(priors.model_copy(update={"dynamics": spec}), shown, document)
    if problems:
        raise CaseError(problems)
    ids = priors.scenario_ids
    size = len(ids)
    durations = np.full(size, DEFAULTS.typical_duration_months, dtype=float)
    if isinstance(spec.typical_duration_months, dict):
        for sid, months in spec.typical_duration_months.items():
            durations[ids.index(sid)] = months
    else:
        durations[:] = spec.typical_duration_months
    weights = np.ones((size, size)) - np.eye(size)
    for source, targets in spec.transitions.items():
        k = ids.index(source)
        weights[k] = 0.0
        for dest, weight in targets.items():
            weights[k, ids.index(dest)] = weight
    expected = np.zeros((size, size))
    allowed = weights > 0
    for k in range(size):
        total = weights[k].sum()
        if total <= 0:
            durations[k] = np.inf
            expected[k, k] = 1.0
            continue
        leave = 1.0 / durations[k]
        expected[k] = leave * weights[k] / total
        expected[k, k] = 1.0 - leave
    np.fill_diagonal(allowed, True)
    target = ids.index(spec.target) if spec.target is not None else 0
    return TransitionPrior(tuple(ids), expected, allowed, float(spec.concentration),
                           durations, target)
