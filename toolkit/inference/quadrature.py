"""Deterministic one-dimensional integration of log-concave integrands, in log space.

Censored observations (ranges and bounds) break conjugacy. Every indicator has a single
parameter per scenario, and the integrand (prior times tempered likelihoods) is
log-concave in that parameter, hence unimodal. :func:`log_integral_batch` integrates many
such integrands at once, one per row: each row's grid is widened until its ends fall
``drop`` nats below the peak, then narrowed until the region above that level spans at
least half the grid, and the trapezoid rule is applied. The result is accepted only when
the trapezoid sum on every other grid point agrees with it to ``tol``; otherwise the row's
grid is refined (doubled) until it does. This matters for censored values: the
probability of a range or bound falls off a cliff in ``u`` whose width shrinks like
``1/sqrt(bound)``, far narrower than the integrand's overall spread. The error is far
below 1e-8 (the tests compare it with closed forms and SciPy's distributions).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from toolkit.core.grids import bulk_round
from toolkit.core.mathutil import logsumexp

BatchLogIntegrand = Callable[[np.ndarray, np.ndarray], np.ndarray]


def log_integral_batch(
    log_f: BatchLogIntegrand,
    lo: np.ndarray,
    hi: np.ndarray,
    points: int = 97,
    drop: float = 32.0,
    max_rounds: int = 80,
    tol: float = 1e-10,
    max_points: int = 2**17 + 1,
) -> np.ndarray:
    """Return ``log(integral of exp(log_f(u)[r]) du)`` over the real line for every row r.

    Parameters
    ----------
    log_f : callable
        ``log_f(grid, rows)`` maps a grid of shape ``(len(rows), points)`` for the listed row
        indices to log integrand values of the same shape; may return ``-inf``. Each row
        must be unimodal in ``u``.
    lo, hi : ndarray, shape (rows,)
        First guesses of where each row's mass lies; widened or narrowed as needed.
    points : int
        Grid size per row and round.
    drop : float
        Parts of an integrand more than ``drop`` nats below its peak are neglected
        (relative error about ``exp(-drop)``).
    max_rounds : int
        Safety limit on widening and zooming rounds.
    tol : float
        Accepted difference (in log) between the trapezoid sums on the grid and on every
        other grid point; rows that differ more are refined.
    max_points : int
        Finest grid a row is refined to.

    Returns
    -------
    ndarray, shape (rows,)
        Log integrals; ``-inf`` where an integrand is zero everywhere searched.
    """
    lo = np.array(lo, dtype=float, ndmin=1)
    hi = np.array(hi, dtype=float, ndmin=1)
    rows = lo.size
    result = np.full(rows, np.nan)
    done = np.zeros(rows, dtype=bool)
    steps = np.linspace(0.0, 1.0, points)
    index = np.arange(points)
    for _ in range(max_rounds):
        active = np.flatnonzero(~done)
        grid = lo[active, None] + (hi - lo)[active, None] * steps
        values = _evaluate(log_f, grid, active)
        width = hi[active] - lo[active]
        step = bulk_round(values, lo[active], hi[active], drop)
        hopeless = step.empty & (width > 1e4)
        result[active[hopeless]] = -np.inf
        done[active[hopeless]] = True
        lo[active], hi[active] = step.lo, step.hi
        settle, first, last = step.settled, step.first, step.last
        resolved = settle & (last - first >= points // 2)
        if resolved.any():
            kept = np.where((index >= first[:, None]) & (index <= last[:, None]), values, -np.inf)
            log_step = np.log(width / (points - 1))[resolved]
            sums = logsumexp(kept[resolved], axis=1) + log_step
            halves = logsumexp(kept[resolved][:, ::2], axis=1) + log_step + np.log(2.0)
            rough = np.abs(sums - halves) > tol
            if rough.any():
                rows_rough = np.flatnonzero(resolved)[rough]
                sums[rough] = _refine(log_f, active[rows_rough], grid[rows_rough],
                                      values[rows_rough], sums[rough], tol, max_points)
            result[active[resolved]] = sums
            done[active[resolved]] = True
        zoom = settle & ~resolved
        rows_zoom = np.flatnonzero(zoom)
        lo[active[zoom]] = grid[rows_zoom, first[zoom]]
        hi[active[zoom]] = grid[rows_zoom, last[zoom]]
        if done.all():
            return result
    raise RuntimeError("quadrature did not settle; an integrand may not be unimodal")


def _evaluate(log_f: BatchLogIntegrand, grid: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Evaluate ``log_f``; far out on a widened grid, overflow to ``-inf`` and NaN are expected."""
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        values = np.asarray(log_f(grid, rows), dtype=float)
    return np.where(np.isnan(values), -np.inf, values)


def _refine(
    log_f: BatchLogIntegrand,
    rows: np.ndarray,
    grid: np.ndarray,
    values: np.ndarray,
    sums: np.ndarray,
    tol: float,
    max_points: int,
) -> np.ndarray:
    """Halve the grid step of each row (evaluating only the new midpoints) until settled.

    ``grid`` and ``values`` are the rows' current uniform grids and log integrand values,
    ``sums`` their trapezoid log integrals; ``rows`` are the row indices ``log_f`` expects.
    """
    out = np.full(rows.size, np.nan)
    todo = np.arange(rows.size)
    while todo.size:
        mid = (grid[:, :-1] + grid[:, 1:]) / 2
        finer = np.empty((todo.size, 2 * grid.shape[1] - 1))
        finer[:, ::2] = values
        finer[:, 1::2] = _evaluate(log_f, mid, rows[todo])
        fine_grid = np.empty_like(finer)
        fine_grid[:, ::2], fine_grid[:, 1::2] = grid, mid
        log_step = np.log((grid[:, -1] - grid[:, 0]) / (finer.shape[1] - 1))
        fine_sums = logsumexp(finer, axis=1) + log_step
        settled = ~(np.abs(fine_sums - sums) > tol) | (finer.shape[1] >= max_points)
        out[todo[settled]] = fine_sums[settled]
        keep = ~settled
        todo, grid, values, sums = todo[keep], fine_grid[keep], finer[keep], fine_sums[keep]
    return out


def log_integral(log_f: Callable[[np.ndarray], np.ndarray], lo: float, hi: float) -> float:
    """Single-integrand form of :func:`log_integral_batch` (``log_f`` maps 1-D grids)."""
    return float(log_integral_batch(lambda grid, _: log_f(grid[0])[None, :], [lo], [hi])[0])


def composite_grid(lo: float, hi: float, features: list[tuple[float, float]],
                   points: int = 2049, local: int = 241, reach: float = 12.0) -> np.ndarray:
    """A sorted grid: ``points`` uniform points on ``[lo, hi]`` plus dense local grids.

    Each ``(centre, width)`` feature narrower than twenty uniform steps gets ``local``
    points over ``centre +- reach * width``. Under the reliability mixture a posterior may
    hold a narrow spike far from its bulk (a large count that may or may not be genuine);
    a uniform or bulk-following grid misses it, so one grid that covers the prior, every
    observation and every narrow feature is used (measured: on simulated ledgers the
    adaptive rule missed such spikes by up to 20 nats, this grid agrees with a 400,001-point
    reference to 1e-6 or better).
    """
    step = (hi - lo) / (points - 1)
    parts = [np.linspace(lo, hi, points)]
    for centre, width in features:
        if width < 20 * step:
            parts.append(np.linspace(centre - reach * width, centre + reach * width, local))
    return np.unique(np.concatenate(parts))


def log_trapezoid(grid: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoid log integrals of ``exp(values)`` on a sorted grid, and on every other point.

    ``values`` has shape ``(..., len(grid))``; the two results differ by about the error of
    the coarser sum, so their gap is the accuracy check. Each row is shifted by its peak and
    summed in linear space against precomputed trapezoid weights (one ``exp`` per value).
    """
    fine, coarse = _trapezoid_weights(grid)
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        peak = np.max(values, axis=-1, keepdims=True)
        safe = np.where(np.isfinite(peak), peak, 0.0)
        dense = np.exp(values - safe)
        return (np.log(dense @ fine) + safe[..., 0], np.log(dense @ coarse) + safe[..., 0])


def _trapezoid_weights(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoid weights on ``grid`` and on its every other point (zero in between)."""
    def weights(x: np.ndarray) -> np.ndarray:
        dx = np.diff(x)
        w = np.zeros(x.size)
        w[:-1] += dx / 2
        w[1:] += dx / 2
        return w

    index = np.arange(0, grid.size, 2)
    if index[-1] != grid.size - 1:
        index = np.append(index, grid.size - 1)
    coarse = np.zeros(grid.size)
    coarse[index] = weights(grid[index])
    return weights(grid), coarse


__all__ = ["composite_grid", "log_integral", "log_integral_batch", "log_trapezoid"]
