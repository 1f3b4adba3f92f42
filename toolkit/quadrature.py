"""Deterministic one-dimensional integration of log-concave integrands, in log space.

Censored observations (ranges and bounds) break conjugacy. Every indicator has a single
parameter per scenario, and the integrand (prior times tempered likelihoods) is
log-concave in that parameter, hence unimodal. :func:`log_integral_batch` integrates many
such integrands at once, one per row: each row's grid is widened until its ends fall
``drop`` nats below the peak, then narrowed until the region above that level spans at
least half the grid, and the trapezoid rule is applied. On smooth, fast-decaying
integrands its error is far below 1e-8 (the tests compare it with closed forms).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from toolkit.mathutil import logsumexp

BatchLogIntegrand = Callable[[np.ndarray, np.ndarray], np.ndarray]


def log_integral_batch(
    log_f: BatchLogIntegrand,
    lo: np.ndarray,
    hi: np.ndarray,
    points: int = 129,
    drop: float = 32.0,
    max_rounds: int = 80,
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
        values = np.asarray(log_f(grid, active))
        values = np.where(np.isnan(values), -np.inf, values)
        peak = values.max(axis=1)
        width = hi[active] - lo[active]
        empty = ~np.isfinite(peak)
        hopeless = empty & (width > 1e4)
        result[active[hopeless]] = -np.inf
        done[active[hopeless]] = True
        level = (peak - drop)[:, None]
        grow_left = ~empty & (values[:, 0] > level[:, 0])
        grow_right = ~empty & (values[:, -1] > level[:, 0])
        lo[active] -= np.where(empty | grow_left, width, 0.0)
        hi[active] += np.where(empty | grow_right, width, 0.0)
        settle = ~empty & ~grow_left & ~grow_right
        inside = values > level
        first = np.maximum(np.argmax(inside, axis=1) - 1, 0)
        last = np.minimum(points - 1 - np.argmax(inside[:, ::-1], axis=1) + 1, points - 1)
        resolved = settle & (last - first >= points // 2)
        if resolved.any():
            kept = np.where((index >= first[:, None]) & (index <= last[:, None]), values, -np.inf)
            log_step = np.log(width / (points - 1))
            sums = logsumexp(kept[resolved], axis=1) + log_step[resolved]
            result[active[resolved]] = sums
            done[active[resolved]] = True
        zoom = settle & ~resolved
        rows_zoom = np.flatnonzero(zoom)
        lo[active[zoom]] = grid[rows_zoom, first[zoom]]
        hi[active[zoom]] = grid[rows_zoom, last[zoom]]
        if done.all():
            return result
    raise RuntimeError("quadrature did not settle; an integrand may not be unimodal")


def log_integral(log_f: Callable[[np.ndarray], np.ndarray], lo: float, hi: float) -> float:
    """Single-integrand form of :func:`log_integral_batch` (``log_f`` maps 1-D grids)."""
    return float(log_integral_batch(lambda grid, _: log_f(grid[0])[None, :], [lo], [hi])[0])


__all__ = ["log_integral", "log_integral_batch"]
