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


#: Log values this far below a row's peak are summed as ``exp(-FLOOR)``: nothing (NumPy's
#: ``exp`` is several times slower on the far tails it would otherwise meet).
FLOOR = 200.0
#: Each uniform interval of a composite grid splits into at most ``2**MAX_DEPTH`` pieces.
MAX_DEPTH = 24


def composite_grid(lo: float, hi: float, features: list[tuple[float, float]],
                   points: int = 2049, local: int = 241, reach: float = 12.0) -> np.ndarray:
    """A sorted grid of quads (four equal intervals each), refined around narrow features.

    The grid starts as about ``points`` uniform points on ``[lo, hi]``, in quads of four
    intervals. Each ``(centre, width)`` feature narrower than three uniform steps wants a
    spacing of ``2 reach width / (local - 1)`` over ``centre +- reach * width``: every quad
    that overlaps that region is halved into two quads until its spacing is that fine (a
    dyadic tree, so a spike of width 1e-5 costs tens of points, not a dense uniform grid).

    Under the reliability mixture a posterior may hold a narrow spike far from its bulk (a
    large count that may or may not be genuine); a uniform or bulk-following grid misses
    it, so one grid covers the prior, every observation and every narrow feature
    (measured: on simulated ledgers the adaptive rule missed such spikes by up to 20 nats).
    Because every quad has four equal intervals, the trapezoid sums on every other and
    every fourth point are consistent composite rules too, and :func:`log_trapezoid` can
    extrapolate (Simpson's rule per pair of intervals) without losing accuracy where the
    spacing changes: a grid of patches inserted at arbitrary places limits the trapezoid
    rule to ``O(h^2)`` at each junction (measured: errors of 1e-3 on the uniform step of
    a 513-point grid).
    """
    quads = max(1, -(-(points - 1) // 4))
    step = (hi - lo) / (4 * quads)
    regions = []
    for centre, width in features:
        if width < 3 * step:
            spacing = 2 * reach * width / max(local - 1, 2)
            depth = min(MAX_DEPTH, max(0, int(np.ceil(np.log2(step / spacing)))))
            if depth > 0:
                regions.append((centre - reach * width, centre + reach * width, depth))
    deepest = max((d for _, _, d in regions), default=0)
    unit = 1 << deepest  # node positions are integers on the finest level's spacing
    refined_by_level: list[np.ndarray] = []  # quads halved at each level (index there)
    for level in range(deepest):
        span = 4 * step / (1 << level)  # width of a quad at this level
        marked: list[np.ndarray] = []
        for a, b, depth in regions:
            if depth > level:
                first = max(int(np.floor((a - lo) / span)), 0)
                last = min(int(np.floor((b - lo) / span)), quads * (1 << level) - 1)
                if first <= last:
                    marked.append(np.arange(first, last + 1, dtype=np.int64))
        refined_by_level.append(np.unique(np.concatenate(marked)) if marked
                                else np.zeros(0, dtype=np.int64))
    nodes = []
    at_level = np.arange(quads, dtype=np.int64)  # the quads that exist at this level
    for level in range(deepest + 1):
        refined = refined_by_level[level] if level < deepest else np.zeros(0, dtype=np.int64)
        leaf = np.setdiff1d(at_level, refined, assume_unique=True)
        scale = unit >> level  # finest-level units per interval at this level
        nodes.append((leaf[:, None] * 4 + np.arange(4)[None, :]).ravel() * scale)
        halved = np.intersect1d(at_level, refined, assume_unique=True)
        at_level = (halved[:, None] * 2 + np.arange(2)[None, :]).ravel()
    index = np.unique(np.concatenate([*nodes, np.array([4 * quads * unit], dtype=np.int64)]))
    return lo + index * (step / unit)


def log_trapezoid(grid: np.ndarray, values: np.ndarray,
                  weights: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Log integrals of ``exp(values)`` on a grid of quads, with an error estimate.

    ``values`` has shape ``(..., len(grid))``; ``grid`` is one grid for every row or one per
    row (the same shape as ``values``; a row may end in repeats of its last point, which add
    nothing). The trapezoid sums on every point, every other and every fourth point
    (:func:`composite_grid` makes all three consistent rules) give two estimates: the
    trapezoid sum, whose error is about its gap to the coarser sum (the trapezoid rule is
    spectrally accurate on smooth integrands that vanish at both ends), and Simpson's
    extrapolation, whose error is bounded by its gap to the coarser Simpson sum (it removes
    the ``h^2`` error where the spacing changes). Each row returns the estimate
    with the smaller error, and that error (in log). Rows are shifted by their peak and
    summed in linear space against the weights of :func:`trapezoid_weights` (pass them to
    reuse them across calls on one grid).
    """
    fine, half, quarter = weights or trapezoid_weights(np.asarray(grid, dtype=float))
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        peak = np.max(values, axis=-1, keepdims=True)
        safe = np.where(np.isfinite(peak), peak, 0.0)
        dense = values - safe
        np.maximum(dense, -FLOOR, out=dense)  # e**-200 adds nothing; far tails cost time
        np.exp(dense, out=dense)
        if fine.ndim == 1:  # one matrix product for the three sums
            sums = dense @ np.stack([fine, half, quarter], axis=-1)
        else:
            sums = np.einsum("...p,...pk->...k", dense, np.stack([fine, half, quarter], -1))
        t1, t2, t4 = sums[..., 0], sums[..., 1], sums[..., 2]
        s1, s2 = (4 * t1 - t2) / 3, (4 * t2 - t4) / 3
        error_t = np.abs(np.log(t1) - np.log(t2))
        # not divided by 15: that assumes the h^4 regime, which a bulk on few points or a
        # junction of spacings need not have reached (measured: 10-70 times too optimistic)
        error_s = np.abs(np.log(s1) - np.log(s2))
        error_s = np.where(np.isfinite(error_s) & (s1 > 0), error_s, np.inf)
        simpson = error_s < error_t
        value = np.log(np.where(simpson, s1, t1)) + safe[..., 0]
        value = np.where(np.isfinite(peak[..., 0]), value, peak[..., 0])  # all -inf: -inf
        error = np.where(simpson, error_s, error_t)
    return value, np.where(np.isnan(error), np.inf, error)


def narrow_bulks(grid: np.ndarray, values: np.ndarray, weights: np.ndarray,
                 step: float | np.ndarray, narrow: float = 3.0,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each row's integrand ``exp(values)`` has its bulk, if narrower than the grid's step.

    Returns ``(centre, width, narrow)`` per row: the integrand's mean and standard deviation
    (from the trapezoid ``weights``), the width rounded down to a power of two (at least a
    quarter of ``step``) and the centre to a multiple of it, so that neighbouring prefixes
    of one trail share one feature for :func:`composite_grid`. Many logged events pin a
    rate far more tightly than a grid that spans the prior resolves; such bulks get patches
    as spikes do.
    """
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        peak = values.max(axis=-1, keepdims=True)
        dense = np.exp(values - np.where(np.isfinite(peak), peak, 0.0)) * weights
        total = dense.sum(axis=-1)
        mean = (dense * grid).sum(axis=-1) / total
        spread = (dense * (grid - mean[..., None]) ** 2).sum(axis=-1) / total
        sd = np.sqrt(np.maximum(spread, 0.0))
        width = 2.0 ** np.floor(np.log2(np.maximum(sd, 0.25 * np.asarray(step))))
        centre = np.round(mean / width) * width
    return centre, width, np.isfinite(centre) & np.isfinite(width) & (sd < narrow * step)


def trapezoid_weights(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trapezoid weights along the last axis of ``grid``, on every other and every fourth point."""
    def weights(x: np.ndarray) -> np.ndarray:
        dx = np.diff(x, axis=-1)
        w = np.zeros(x.shape)
        w[..., :-1] += dx / 2
        w[..., 1:] += dx / 2
        return w

    size = grid.shape[-1]
    out = [weights(grid)]
    for stride in (2, 4):
        index = np.arange(0, size, stride)
        if index[-1] != size - 1:
            index = np.append(index, size - 1)
        coarse = np.zeros(grid.shape)
        coarse[..., index] = weights(grid[..., index])
        out.append(coarse)
    return out[0], out[1], out[2]


def log_integral_on_grids(log_f: Callable[[np.ndarray], np.ndarray], lo: float, hi: float,
                          features: list[tuple[float, float]], tol: float,
                          points: int = 513, local: int = 41) -> float:
    """``log integral exp(log_f(u)) du`` on :func:`composite_grid` grids around ``features``.

    The grid is made 4 and then 16 times as fine until the error estimate of
    :func:`log_trapezoid` is within ``tol`` (the finest grid's result is accepted as it is).
    ``NaN`` values of ``log_f`` count as ``-inf``.
    """
    value = -np.inf
    for scale in (1, 4, 16):
        grid = composite_grid(lo, hi, features, points * scale, local * scale)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            values = np.asarray(log_f(grid), dtype=float)
        found, error = log_trapezoid(grid, np.where(np.isnan(values), -np.inf, values))
        value = float(found)
        if float(error) <= tol:
            break
    return value


__all__ = ["composite_grid", "log_integral", "log_integral_batch", "log_integral_on_grids",
           "log_trapezoid", "narrow_bulks", "trapezoid_weights"]
