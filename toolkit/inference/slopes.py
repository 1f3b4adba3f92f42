"""Marginal likelihoods when rates change over time: the level and the slope on two grids.

With ``wander`` (:mod:`toolkit.model.trajectory`) an indicator has two parameters per
scenario, the level ``u`` at the reference time and the slope ``s`` per year of its log rate.
The slope (and a path's shape) enters each observation as an offset of ``u``, so for every
slope on a grid the level is integrated as without wander (one composite grid of ``u`` per
slope, refined around that slope's spikes; item log likelihoods summed cumulatively for the
trail), and the slope is then integrated against its Normal prior by the trapezoid rule.
The slope grid spans +-8 prior standard deviations and is zoomed in on the full evidence's
posterior bulk (evidence spread over years can pin the slope far more tightly than the
prior). A path without wander has the one slope 0. Every prefix is accepted on its own
error estimate (:func:`toolkit.inference.quadrature.log_trapezoid`). A rate's ``walk``
enters each total as its scatter (:func:`with_scatter`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from toolkit.core.mathutil import logsumexp
from toolkit.families.base import Family
from toolkit.families.observation import Observation
from toolkit.inference.quadrature import (
    composite_grid,
    log_integral_on_grids,
    log_trapezoid,
    narrow_bulks,
    trapezoid_weights,
)
from toolkit.model.trajectory import Drift

SLOPE_POINTS = 33
LEVEL_POINTS = 513
REACH = 8.0
DROP = 25.0
LEVEL_TOL = 1e-6
#: A bulk narrower than this many uniform steps gets its own patch (as spikes do).
NARROW = 3.0
#: Windowed passes cover where an integrand is within this many nats of its peak
#: (``e**-50`` of it is far below :data:`LEVEL_TOL`).
WINDOW_DROP = 50.0


def with_scatter(drift: Drift, observations: Sequence[Observation]) -> list[Observation]:
    """Totals with the scatter of the rate's walk over their periods added (others unchanged)."""
    if drift.walk <= 0:
        return list(observations)
    return [dataclasses.replace(o, scatter=o.scatter + drift.scatter(o.start, o.end))
            if o.reading == "total" else o for o in observations]


def _offsets(family: Family, drift: Drift, slopes: np.ndarray,
             observations: Sequence[Observation]) -> tuple[np.ndarray, np.ndarray]:
    """Per slope and observation: the offset of its rate and of its logged event."""
    over = family.takes_rates  # totals average the rate over the period; shares: midpoint
    rate = np.stack([drift.offsets(slopes, o.start, o.end, over) for o in observations], axis=1)
    event = np.stack([drift.offsets(slopes, o.end, o.end, False) if o.reading == "events"
                      else np.zeros_like(slopes) for o in observations], axis=1)
    return rate, event


def _level_integrals(family: Family, params: tuple[float, ...],
                     observations: Sequence[Observation], drift: Drift, slopes: np.ndarray,
                     prefixes: Sequence[int]) -> np.ndarray:
    """``log integral over u`` for each requested prefix and slope: shape (prefixes, slopes).

    A prefix is accepted when its estimated error is within :data:`LEVEL_TOL` at every
    slope that matters (within :data:`DROP` nats of its best). The others are redone with
    dense patches around the bulks the pass found narrow (many logged events pin a rate
    far more tightly than the prior's uniform grid resolves), then without patches (wide
    bulks lose accuracy where the grid's spacing changes), then on finer grids (uniform
    ones once a patched pass settled under half the prefixes it was given); the finest
    grid's result is accepted as it is.
    """
    out = np.full((len(prefixes), slopes.size), np.nan)
    offsets = _offsets(family, drift, slopes, observations)  # the same for every pass
    bulks: list[list[tuple[float, float]]] = [[] for _ in range(slopes.size)]
    none: list[list[tuple[float, float]]] = [[] for _ in range(slopes.size)]
    patches_help = True
    window = None  # once patches stop helping: uniform grids over where the integrands are
    for scale in (1, 4, 16):
        tried: list[tuple[list[list[tuple[float, float]]], bool]] = []
        for _ in range(4):
            todo = [k for k in range(len(prefixes)) if np.isnan(out[k, 0])]
            use = bulks if patches_help and (bulks, False) not in tried else none
            windowed = not any(use) and window is not None
            if not todo or (use, windowed) in tried:
                break
            patched = any(use)
            tried.append(([list(b) for b in use], windowed))
            values, gaps, found, extent = _level_pass(
                family, params, observations, offsets, [prefixes[k] for k in todo],
                LEVEL_POINTS * scale, 41 * scale, use, window if windowed else None)
            window = window if patched else extent
            weight = values + drift.log_prior(slopes)[None, :]
            matters = weight > np.max(weight, axis=1, keepdims=True) - DROP
            ok = np.all((gaps <= LEVEL_TOL) | ~matters, axis=1) | (scale == 16)
            out[np.array(todo)[ok]] = values[ok]
            # patches that settle under half the prefixes left are not worth their points:
            # finer uniform grids from here (measured: an event log of 1,000 rows under
            # wander spent 60% of its time on patched passes that settled 15% of them)
            patches_help = patches_help and not (patched and ok.mean() < 0.5)
            bulks = [sorted(set(b) | set(f)) for b, f in zip(bulks, found, strict=True)]
    return out


def _level_pass(family: Family, params: tuple[float, ...],
                observations: Sequence[Observation], offsets: tuple[np.ndarray, np.ndarray],
                prefixes: Sequence[int], points: int, local: int,
                bulks: list[list[tuple[float, float]]],
                window: tuple[np.ndarray, np.ndarray] | None = None,
                ) -> tuple[np.ndarray, np.ndarray, list[list[tuple[float, float]]],
                           tuple[np.ndarray, np.ndarray]]:
    """Values and error estimates per prefix and slope, the integrands' narrow bulks and extent.

    ``offsets`` are :func:`_offsets` of the slopes; each slope has its own grid
    (:func:`_slope_grids`), over ``window`` (per slope ``(lo, hi)``) when given. The extent
    is, per slope, where the integrands of the prefixes outside :data:`LEVEL_TOL` are within
    :data:`WINDOW_DROP` nats of their peak, two grid steps wider each side: a finer
    uniform grid there resolves them with far fewer points than one over the whole bracket.
    """
    rate, event = offsets
    slopes_count = rate.shape[0]
    u = _slope_grids(family, params, observations, rate, event, points, local, bulks=bulks,
                     window=window)
    weights = trapezoid_weights(u)
    step = (u[:, -1] - u[:, 0]) / (4 * -(-(points - 1) // 4))
    wanted = {m: k for k, m in enumerate(prefixes)}
    out = np.full((len(prefixes), slopes_count), -np.inf)
    gaps = np.zeros((len(prefixes), slopes_count))
    found: list[list[tuple[float, float]]] = [[] for _ in bulks]
    low, high = np.full(slopes_count, np.inf), np.full(slopes_count, -np.inf)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        running = np.asarray(family.log_prior_u(u, params), dtype=float).copy()
        for m, obs in enumerate(observations[: max(prefixes) + 1]):
            if not obs.weightless:
                running += family.item_log_lik(u + rate[:, i_col(m)], obs, params,
                                               event_u=u + event[:, i_col(m)])
            if m in wanted:
                values = np.where(np.isnan(running), -np.inf, running)
                out[wanted[m]], gaps[wanted[m]] = log_trapezoid(u, values, weights)
                if gaps[wanted[m]].max() > LEVEL_TOL:  # only where it may be redone
                    _add_bulks(found, u, values, weights[0], step)
                    near = values > values.max(axis=1, keepdims=True) - WINDOW_DROP
                    low = np.minimum(low, np.where(near, u, np.inf).min(axis=1))
                    high = np.maximum(high, np.where(near, u, -np.inf).max(axis=1))
    empty = ~(low < high)  # nothing found: the row's whole grid
    low = np.where(empty, u[:, 0], np.maximum(low - 2 * step, u[:, 0]))
    high = np.where(empty, u[:, -1], np.minimum(high + 2 * step, u[:, -1]))
    return out, gaps, found, (low, high)


def _add_bulks(found: list[list[tuple[float, float]]], u: np.ndarray, values: np.ndarray,
               weights: np.ndarray, step: np.ndarray) -> None:
    """Record each row's integrand bulk where it is narrow on the grid (a new patch)."""
    centre, width, narrow = narrow_bulks(u, values, weights, step, NARROW)
    for j in np.flatnonzero(narrow):
        feature = (float(centre[j]), float(width[j]))
        if feature not in found[j]:
            found[j].append(feature)


def _slope_grids(family: Family, params: tuple[float, ...],
                 observations: Sequence[Observation], rate: np.ndarray, event: np.ndarray,
                 points: int, local: int, margin: float = 0.0,
                 bulks: list[list[tuple[float, float]]] | None = None,
                 window: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """One composite grid of ``u`` per slope (rows padded with their last point).

    Each slope moves every item's spike by its own offset, so each row refines only around
    its own spikes (one grid shared by all slopes would hold every slope's patches: measured
    40 times the points on a realistic ledger). ``window`` replaces the bracket of each row.
    """
    lo, hi = family.bracket(params, list(observations))
    lo = lo - max(rate.max(initial=0.0), event.max(initial=0.0), 0.0) - margin
    hi = hi - min(rate.min(initial=0.0), event.min(initial=0.0), 0.0) + margin
    count = rate.shape[0]
    lows, highs = window if window is not None else (np.full(count, lo), np.full(count, hi))
    own = [family.features(o) if not o.weightless else [] for o in observations]
    rows = [composite_grid(float(lows[j]), float(highs[j]),
                           _merged([(c - rate[j, i], w) for i, fs in enumerate(own)
                                    for c, w in fs]) + (bulks[j] if bulks else []),
                           points, local=local)
            for j in range(count)]
    width = max(r.size for r in rows)
    return np.stack([np.pad(r, (0, width - r.size), mode="edge") for r in rows])


def _merged(features: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Features closer than half their width merged (duplicates add no accuracy)."""
    out: dict[tuple[int, float], tuple[float, float]] = {}
    for centre, width in features:
        out.setdefault((round(centre / (0.5 * width)), width), (centre, width))
    return list(out.values())


def i_col(m: int) -> slice:
    """Column ``m`` of an offsets array, kept two-dimensional for broadcasting."""
    return slice(m, m + 1)


def slope_prefix_log_marginals(family: Family, params: tuple[float, ...],
                               observations: Sequence[Observation],
                               drift: Drift) -> np.ndarray:
    """Log marginal likelihood of every prefix, level and slope integrated out.

    The slope is integrated on nested uniform grids: one over +-8 prior standard deviations
    and zooms on the full evidence's bulk. Each prefix takes the finest grid whose ends lie
    :data:`DROP` nats below its peak (the trapezoid rule is spectrally accurate on a uniform
    grid over such an integrand, not on a union of grids of different spacing).
    """
    n = len(observations)
    observations = with_scatter(drift, observations)
    if not drift.wanders:  # a path alone: one slope, 0
        return _level_integrals(family, params, observations, drift, np.zeros(1),
                                list(range(n)))[:, 0]
    sigma = drift.sigma
    levels = [np.linspace(-REACH * sigma, REACH * sigma, SLOPE_POINTS)]
    final = _level_integrals(family, params, observations, drift, levels[0], [n - 1])[0]
    for _ in range(8):
        total = final + drift.log_prior(levels[-1])
        peak = total.max()
        above = np.flatnonzero(total > peak - DROP)
        if not np.isfinite(peak) or above.size >= SLOPE_POINTS // 2:
            break
        first, last = max(above[0] - 1, 0), min(above[-1] + 1, SLOPE_POINTS - 1)
        levels.append(np.linspace(levels[-1][first], levels[-1][last], SLOPE_POINTS))
        final = _level_integrals(family, params, observations, drift, levels[-1], [n - 1])[0]
    union = np.unique(np.concatenate(levels))
    inner = _level_integrals(family, params, observations, drift, union, list(range(n)))
    values = inner + drift.log_prior(union)[None, :]
    out = np.full(n, np.nan)
    for grid in reversed(levels):  # finest first
        columns = np.searchsorted(union, grid)
        on_grid = values[:, columns]
        peak = on_grid.max(axis=1)
        inside = np.maximum(on_grid[:, 0], on_grid[:, -1]) < peak - DROP
        todo = np.isnan(out) & (inside | (grid is levels[0]))
        out[todo] = log_trapezoid(grid, on_grid[todo])[0]
    return out


def slope_posterior_nodes(family: Family, params: tuple[float, ...],
                          observations: Sequence[Observation], drift: Drift,
                          start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    """The posterior of ``u + offset(s)`` for a window ``[start, end]`` as weighted nodes.

    Used for predictives: a future window's total depends on the level and slope only
    through the rate averaged over that window.
    """
    sigma = drift.sigma
    observations = with_scatter(drift, observations)
    slopes = np.linspace(-REACH * sigma, REACH * sigma, SLOPE_POINTS) if drift.wanders \
        else np.zeros(1)
    if observations and drift.wanders:
        final = _level_integrals(family, params, observations, drift, slopes,
                                 [len(observations) - 1])[0] + drift.log_prior(slopes)
        above = np.flatnonzero(final > final.max() - DROP)
        if above.size == 0:
            raise ValueError("the observations are impossible under this prior")
        slopes = np.linspace(slopes[max(above[0] - 1, 0)],
                             slopes[min(above[-1] + 1, slopes.size - 1)], SLOPE_POINTS)
    rate, event = _offsets(family, drift, slopes, observations) if observations else \
        (np.zeros((slopes.size, 0)), np.zeros((slopes.size, 0)))
    bulks: list[list[tuple[float, float]]] = [[] for _ in range(slopes.size)]
    for _ in range(3):  # patches where the posterior's bulk is narrower than the grid
        u = _slope_grids(family, params, observations, rate, event, 513, 41, margin=1.0,
                         bulks=bulks)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            log_w = np.asarray(family.log_prior_u(u, params), dtype=float).copy()
            for i, obs in enumerate(observations):
                if not obs.weightless:
                    log_w += family.item_log_lik(u + rate[:, i_col(i)], obs, params,
                                                 event_u=u + event[:, i_col(i)])
        log_w = np.where(np.isnan(log_w), -np.inf, log_w)
        found = [list(b) for b in bulks]
        _add_bulks(found, u, log_w, trapezoid_weights(u)[0], (u[:, -1] - u[:, 0]) / 512)
        if found == bulks:
            break
        bulks = found
    log_w = log_w + drift.log_prior(slopes)[:, None]
    cell_u = np.gradient(u, axis=1)
    cell_s = np.gradient(slopes)[:, None] if slopes.size > 1 else np.ones((1, 1))
    with np.errstate(divide="ignore"):  # padding repeats a point: no weight
        log_w = log_w + np.log(cell_u) + np.log(cell_s)
    window = family.takes_rates
    shift = drift.offsets(slopes, start, end, window)[:, None]
    nodes = (u + shift).ravel()
    weights = np.exp(log_w - logsumexp(log_w)).ravel()
    keep = weights > 1e-16
    return nodes[keep], weights[keep] / weights[keep].sum()


def single_log_marginal(family: Family, params: tuple[float, ...], obs: Observation,
                        drift: Drift) -> float:
    """Log marginal likelihood of one observation alone, level and slope integrated out.

    One observation depends on the level ``u`` and the slope ``s`` only through its own
    log rate ``v = u + offset(s)``, so the double integral is a single one: the likelihood
    on one grid of ``v`` against the prior of ``v``, a mixture over the slope grid of the
    level's prior shifted by each slope's offset. The slope grid is fine enough that
    neighbouring offsets differ by at most a quarter of the level prior's standard
    deviation (the trapezoid rule over the slope is then exact to far below the tolerance).
    This is how the reliability mixture's reference (:mod:`toolkit.inference.reference`)
    reads an item under the same time-aware model as its genuine likelihood.
    """
    obs = with_scatter(drift, [obs])[0]
    over = family.takes_rates
    at = (obs.end, obs.end, False) if obs.reading == "events" else (obs.start, obs.end, over)
    lo, hi = family.bracket(params, [obs])
    probe = np.linspace(lo, hi, 2049)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        density = np.exp(np.asarray(family.log_prior_u(probe, params), dtype=float))
        density = np.nan_to_num(density) / max(np.nan_to_num(density).sum(), 1e-300)
        spread = math.sqrt(max(float(density @ (probe - density @ probe) ** 2), 1e-12))
    slopes = np.zeros(1)
    if drift.wanders:
        coarse = np.linspace(-REACH * drift.sigma, REACH * drift.sigma, SLOPE_POINTS)
        step = float(np.max(np.abs(np.diff(drift.offsets(coarse, *at)))))
        count = int(np.clip(math.ceil(step / (0.25 * spread)) * (SLOPE_POINTS - 1) + 1,
                            SLOPE_POINTS, 4097))
        slopes = np.linspace(-REACH * drift.sigma, REACH * drift.sigma, count)
    shift = drift.offsets(slopes, *at)
    log_w = drift.log_prior(slopes) + (math.log(slopes[1] - slopes[0]) if slopes.size > 1
                                       else 0.0)
    lo, hi = lo + min(shift.min(), 0.0), hi + max(shift.max(), 0.0)
    def log_integrand(v: np.ndarray) -> np.ndarray:
        prior = logsumexp(log_w[:, None] + np.asarray(
            family.log_prior_u(v[None, :] - shift[:, None], params), dtype=float), axis=0)
        return prior + np.asarray(family.item_log_lik(v, obs, params, event_u=v), dtype=float)

    return log_integral_on_grids(log_integrand, lo, hi, family.features(obs), LEVEL_TOL,
                                 LEVEL_POINTS)


__all__ = ["single_log_marginal", "slope_posterior_nodes", "slope_prefix_log_marginals",
           "with_scatter"]
