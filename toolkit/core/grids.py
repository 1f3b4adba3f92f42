"""Locating the bulk of unimodal log densities on grids: the one routine every grid uses.

A caller evaluates a log density on a grid per row (its own grid: quadrature, parameter
posteriors), and :func:`bulk_round` decides the next step for every row at once: widen a
row whose grid end still lies above ``peak - drop`` (both ends when nothing is finite), or,
once both ends are below that level, report where the bulk lies (the first and last grid
points above it, with one point of margin) so the caller can zoom in or stop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BulkRound:
    """The outcome of one round of :func:`bulk_round`, one entry per row.

    Attributes
    ----------
    lo, hi : ndarray
        The next bounds: widened by the grid's width where an end was above the level,
        unchanged elsewhere.
    empty : ndarray of bool
        Rows with no finite value (widened on both sides).
    settled : ndarray of bool
        Rows whose both ends lie below ``peak - drop``: the bulk is inside the grid.
    first, last : ndarray of int
        Grid indices bracketing the points above the level, one point of margin each side.
    inside : ndarray of int
        How many grid points lie above the level.
    """

    lo: np.ndarray
    hi: np.ndarray
    empty: np.ndarray
    settled: np.ndarray
    first: np.ndarray
    last: np.ndarray
    inside: np.ndarray


def bulk_round(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, drop: float) -> BulkRound:
    """Decide, for every row of ``values`` (a grid from ``lo`` to ``hi``), where to look next.

    Parameters
    ----------
    values : ndarray, shape (rows, points)
        Log density on each row's grid; may hold ``-inf``.
    lo, hi : ndarray, shape (rows,)
        Ends of each row's grid.
    drop : float
        Nats below the peak that count as outside the bulk.

    Returns
    -------
    BulkRound
        Next bounds, and where the bulk lies in the rows that have settled.
    """
    points = values.shape[1]
    peak = values.max(axis=1)
    width = hi - lo
    empty = ~np.isfinite(peak)
    level = peak - drop
    grow_left = ~empty & (values[:, 0] > level)
    grow_right = ~empty & (values[:, -1] > level)
    above = values > level[:, None]
    first = np.maximum(np.argmax(above, axis=1) - 1, 0)
    last = np.minimum(points - 1 - np.argmax(above[:, ::-1], axis=1) + 1, points - 1)
    return BulkRound(lo=lo - np.where(empty | grow_left, width, 0.0),
                     hi=hi + np.where(empty | grow_right, width, 0.0), empty=empty,
                     settled=~empty & ~grow_left & ~grow_right, first=first, last=last,
                     inside=above.sum(axis=1))
