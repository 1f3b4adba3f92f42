"""The exact engine: closed-form marginal likelihoods, quadrature where values are censored.

For each indicator and scenario the single parameter is integrated out: in closed form
when every observation of the indicator is exact (Gamma-Poisson, Normal-LogNormal,
Beta-Binomial, all with tempered likelihoods), and by deterministic adaptive quadrature
(:mod:`toolkit.inference.quadrature`, accurate to far better than 1e-8) once a range or bound
appears.
Every prefix of every indicator's items (the trail needs them) under every scenario is a
*task*; the censored tasks of one family are integrated together in a single batch.
Milliseconds per forecast; the oracle the PyMC engine is tested against.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from toolkit.families import family_for
from toolkit.families.observation import Observation
from toolkit.inference.engines.base import (
    EngineResult,
    by_indicator,
    prefix_increments,
    split_closing,
)
from toolkit.inference.quadrature import (
    composite_grid,
    log_integral_batch,
    log_trapezoid,
    narrow_bulks,
    trapezoid_weights,
)
from toolkit.inference.slopes import slope_prefix_log_marginals
from toolkit.model.case import Case
from toolkit.model.trajectory import Drift


@dataclass(frozen=True)
class Task:
    """One marginal likelihood to compute: a prior and the observations it integrates."""

    kind: str
    params: tuple[float, ...]
    items: tuple[int, ...]


def solve(tasks: Sequence[Task], observations: Sequence[Observation]) -> np.ndarray:
    """Log marginal likelihood of every task.

    Parameters
    ----------
    tasks : sequence of Task
        What to integrate; ``items`` index into ``observations``.
    observations : sequence of Observation
        All observations the tasks refer to.

    Returns
    -------
    ndarray, shape (len(tasks),)
        ``log integral prior(u) prod_{i in items} lik_i(u) ** r_i du`` for each task.
    """
    out = np.empty(len(tasks))
    pending: dict[str, list[int]] = defaultdict(list)
    for t, task in enumerate(tasks):
        chosen = [observations[i] for i in task.items]
        if not chosen:
            exact = 0.0
        elif all(o.conjugate for o in chosen):
            exact = family_for(task.kind).closed_form(task.params, chosen)
        else:
            exact = None
        if exact is None:
            pending[family_for(task.kind).name].append(t)
        else:
            out[t] = exact
    for rows in pending.values():
        out[rows] = _integrate([tasks[t] for t in rows], observations)
    return out


def _integrate(tasks: list[Task], observations: Sequence[Observation]) -> np.ndarray:
    family = family_for(tasks[0].kind)
    used = sorted({i for task in tasks for i in task.items})
    include = np.array([[i in task.items for i in used] for task in tasks])
    columns = [np.array([task.params[j] for task in tasks])[:, None]
               for j in range(len(tasks[0].params))]
    brackets = np.array([
        family.bracket(task.params, [observations[i] for i in task.items]) for task in tasks
    ])

    chosen = [observations[i] for i in used]

    def log_integrand(grid: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return family.log_posterior_u(grid, tuple(c[rows] for c in columns), chosen,
                                      include[rows])

    return log_integral_batch(log_integrand, brackets[:, 0], brackets[:, 1])


def log_marginal(
    kind: str, params: tuple[float, ...], observations: Sequence[Observation]
) -> float:
    """Log marginal likelihood of one indicator's observations under one prior."""
    task = Task(kind, tuple(params), tuple(range(len(observations))))
    return float(solve([task], observations)[0])


#: Shared trail grid: points per indicator and scenario, and accepted error (in log).
TRAIL_POINTS = 513
TRAIL_TOL = 1e-8
#: A long trail is first probed at every this many prefixes: their narrow bulks (many
#: logged events pin the rate) get patches before the whole trail is integrated.
PROBE_STRIDE = 16


def prefix_log_marginals(
    kind: str, params: tuple[float, ...], observations: Sequence[Observation],
    drift: Drift | None = None,
) -> tuple[np.ndarray, int]:
    """Log marginal likelihood of every prefix of one indicator's observations.

    Closed forms where every observation allows one. Otherwise all prefixes are read off
    one grid of ``u`` (:func:`~toolkit.inference.quadrature.composite_grid`: the prior,
    every observation and a dense patch around every narrow likelihood feature): the item
    log likelihoods are summed cumulatively, so the cost grows linearly with the items. A
    prefix is accepted when its integrand falls 25 nats below its peak at both grid ends and
    the error estimate of :func:`~toolkit.inference.quadrature.log_trapezoid` is within
    :data:`TRAIL_TOL`. A long trail is first probed at every :data:`PROBE_STRIDE`-th prefix;
    prefixes not accepted are redone on the grid with patches around the narrow bulks found
    so far, then without them, then on grids 4 and 16 times as fine (the last accepted as
    it is); a prefix whose integrand reaches the grid's ends goes to the adaptive
    :func:`solve`.

    With a ``drift`` (the rate wanders or follows a path) the offsets and the slope are
    integrated too (:func:`toolkit.inference.slopes.slope_prefix_log_marginals`).

    Returns
    -------
    tuple
        ``(values, redone)``: the prefixes' log marginals and how many needed a finer grid
        than the first scale's (or the adaptive fallback).
    """
    family = family_for(kind)
    if drift is not None:  # the rate wanders: level and slope (inference.slopes)
        return slope_prefix_log_marginals(family, params, observations, drift), 0
    n = len(observations)
    weightless = [o.weightless for o in observations]
    conjugate = np.cumsum([not (o.conjugate or w)
                           for o, w in zip(observations, weightless, strict=True)]) == 0
    out = np.full(n, np.nan)
    for m in np.flatnonzero(conjugate):
        counted = [o for o, w in zip(observations[: m + 1], weightless, strict=False) if not w]
        out[m] = family.closed_form(params, counted) if counted else 0.0
    rest = np.flatnonzero(~conjugate)
    if rest.size == 0:
        return out, 0
    counted = [o for o in observations if not o.weightless]
    lo, hi = family.bracket(params, counted)  # an item of no weight changes no grid
    features = [f for o in counted for f in family.features(o)]
    bulks: set[tuple[float, float]] = set()
    probed = len(rest) <= 4 * PROBE_STRIDE
    redone = 0
    for scale in (1, 4, 16):
        tried: set[frozenset] = set()
        for _ in range(4):  # grids with the patches found so far, then without any
            todo = [m for m in rest if np.isnan(out[m])]
            use = frozenset(bulks) if frozenset(bulks) not in tried else frozenset()
            if not todo or use in tried:
                break
            if not probed:  # a long trail: find its narrow bulks on a few prefixes first
                probed = True
                todo = sorted({*todo[::PROBE_STRIDE], todo[-1]})
            else:
                tried.add(use)
            grid = composite_grid(lo, hi, features + sorted(use), TRAIL_POINTS * scale,
                                  241 * scale)
            step = (hi - lo) / (4 * -(-(TRAIL_POINTS * scale - 1) // 4))  # uniform part
            bulks |= _grid_prefixes(family, params, observations, grid, todo, out, step,
                                    final=scale == 16)
        if scale == 1:
            redone = int(np.sum(np.isnan(out[rest])))
    redo = [m for m in rest if np.isnan(out[m])]
    if redo:
        tasks = [Task(kind, tuple(params), tuple(range(m + 1))) for m in redo]
        out[redo] = solve(tasks, observations)
    return out, redone


def _grid_prefixes(family, params, observations, grid, todo, out, step: float,
                   final: bool = False, block: int = 256) -> set[tuple[float, float]]:
    """Fill ``out[m]`` for the prefixes ``m`` in ``todo`` that the grid resolves.

    Running sums are stacked ``block`` prefixes at a time and integrated together. On the
    ``final`` (finest) grid the tolerance is waived: its sum is the best estimate there is
    (the adaptive fallback assumes one mode, which a mixed item's posterior need not have).
    Returns the narrow bulks (:func:`~toolkit.inference.quadrature.narrow_bulks`) of the
    prefixes it could not resolve, for patches on the next grid.
    """
    found: set[tuple[float, float]] = set()
    wanted = set(todo)
    last = max(todo)
    weights = trapezoid_weights(grid)
    rows = np.empty((min(block, len(todo)), grid.size))
    index: list[int] = []

    def flush() -> None:
        values = rows[: len(index)]
        values[np.isnan(values)] = -np.inf
        peak = values.max(axis=1)
        inside = np.isfinite(peak) & (np.maximum(values[:, 0], values[:, -1]) < peak - 25.0)
        value, error = log_trapezoid(grid, values, weights)
        ok = inside & ((error <= TRAIL_TOL) | final) & np.isfinite(value)
        out[np.array(index)[ok]] = value[ok]
        if not ok.all():
            centre, width, narrow = narrow_bulks(grid, values[~ok], weights[0], step)
            found.update(zip(centre[narrow].tolist(), width[narrow].tolist(), strict=True))
        index.clear()

    shared: dict = {}
    unit = None
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        running = np.asarray(family.log_prior_u(grid, params), dtype=float).copy()
        for m, obs in enumerate(observations[: last + 1]):
            if obs.weightless:
                pass
            elif (split := family.shared_part(obs)) is None:
                running += family.item_log_lik(grid, obs, params)
            else:  # e.g. logged events: one evaluation per grade, the quiet time by weight
                key, weight = split
                if key not in shared:
                    shared[key] = family.item_log_lik(grid, replace(obs, exposure=0.0), params)
                    unit = family.unit_log_lik(grid) if unit is None else unit
                running += shared[key]
                running += weight * unit
            if m in wanted:
                rows[len(index)] = running
                index.append(m)
                if len(index) == rows.shape[0]:
                    flush()
        if index:
            flush()
    return found


class ExactEngine:
    """Closed-form (and quadrature) engine."""

    name = "exact"

    def run(self, case: Case, observations: list[Observation], seed: int = 0) -> EngineResult:
        """Compute incremental log marginal likelihoods for every item and scenario.

        Parameters
        ----------
        case : Case
            The validated case.
        observations : list of Observation
            Items in report order.
        seed : int
            Unused (the engine is deterministic); accepted for a common interface.

        Returns
        -------
        EngineResult
            Increments, totals and diagnostics.
        """
        from toolkit.inference.reference import with_references

        start = time.perf_counter()
        observations = with_references(case, observations)
        scenarios = case.priors.scenario_ids
        groups = by_indicator(observations)
        cumulative = np.zeros((len(observations), len(scenarios)))
        fallback = 0
        for indicator, indices in groups.items():
            kind = case.indicators[indicator].kind
            chosen = [observations[i] for i in indices]
            for k, scenario in enumerate(scenarios):
                params = case.prior_params(indicator, scenario)
                values, redone = prefix_log_marginals(kind, params, chosen,
                                                      case.drift(indicator, scenario))
                cumulative[indices, k] = values
                fallback += redone
        every = prefix_increments(cumulative, groups)
        increments, closing = split_closing(every, observations)
        return EngineResult(
            increments=increments,
            log_marginal=increments.sum(axis=0) + closing,
            closing=closing,
            extras={"quiet_increments": every[len(increments):]},  # one row per quiet span
            diagnostics={
                "method": "closed form (conjugate); quadrature for censored or mixed values "
                          "(one shared grid per indicator and scenario for the trail)",
                "prefixes_integrated_adaptively": fallback,
                "seconds": time.perf_counter() - start,
                "converged": True,
            },
        )
