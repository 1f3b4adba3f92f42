"""Latent rate paths: a level, a slope and a monthly random walk in whitened coordinates.

Under one scenario an indicator's log rate (log monthly amount, logit share) at time ``t``
(months since 2000-01-01) is

``v(t) = u + g(t) + s (t - t0) / 12 + W(t)``

with the level ``u`` from the expectation's prior, the path's known shape ``g``, a slope
``s ~ Normal(0, sigma)`` per year where the rate wanders (otherwise ``s = 0`` and it is no
coordinate), and with ``walk`` a Gaussian random
walk ``W`` on a monthly grid pinned at ``t0``: ``W(t0 +- m)`` is the sum of ``m`` monthly
steps of standard deviation ``walk``, linear between the knots (the terms of
:mod:`toolkit.model.trajectory`). Every unknown is written in *whitened* coordinates, a
standard Normal vector ``z``: ``z[0]`` gives ``u`` by the prior's quantile transform
(:meth:`toolkit.families.base.Family.u_from_normal`), ``z[1]`` the slope where it wanders,
the rest (from :attr:`PathDesign.walk_from`) the walk's steps (right of ``t0``, then left).
The sampler (:mod:`.sampler`) then needs no prior beyond ``-|z|^2 / 2``.

Unlike the exact engine, which reads a walk as independent scatter on each total, the path
is one draw shared by every item, so items close in time see the same excursion. An item
sees the path through its *offsets*: the log of the rate averaged over its period (totals,
quiet watched time, the time before a logged event) and the log rate at its own time
(a logged event; shares at their period's midpoint, without the walk). ``v`` is linear
between the cut points (month knots, path dates, the period's ends), so the average is exact,
piece by piece: ``log(L) + (v_a + v_b) / 2 + log(sinh(x) / x)`` with ``x = (v_b - v_a) / 2``,
the formula of :meth:`toolkit.model.trajectory.Drift.offsets`, which it equals when there is
no walk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from toolkit.core.mathutil import logsumexp
from toolkit.families.observation import Observation
from toolkit.model.trajectory import Drift, log_sinhc


@dataclass(frozen=True)
class Reading:
    """How one observation reads the path: cut times and the matrices that give ``v`` there.

    ``shape`` and ``slope`` are ``g(t)`` and ``(t - t0) / 12`` at the cut ``times``; ``walk``
    the rows mapping the walk's steps to ``W`` at them (``W = walk @ steps``). ``point``
    marks an offset read at one time (its single cut), ``event`` the same three at a logged
    event's own time (``None`` otherwise).
    """

    times: np.ndarray
    shape: np.ndarray
    slope: np.ndarray
    walk: np.ndarray
    point: bool
    event: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class PathDesign:
    """The whitened coordinates of one indicator under one scenario.

    Attributes
    ----------
    drift : Drift or None
        The time-aware model (``None``: a constant rate).
    right, left : int
        Monthly walk knots after and before ``t0`` (0 without a walk).
    """

    drift: Drift | None
    right: int = 0
    left: int = 0

    @classmethod
    def for_observations(cls, drift: Drift | None,
                         observations: Sequence[Observation]) -> PathDesign:
        """The design whose walk knots cover every observation's period."""
        if drift is None or drift.walk <= 0:
            return cls(drift)
        times = [t for o in observations for t in (o.start, o.end) if math.isfinite(t)]
        right = max([0.0, *(t - drift.t0 for t in times)])
        left = max([0.0, *(drift.t0 - t for t in times)])
        return cls(drift, int(math.ceil(right)) + 1, int(math.ceil(left)) + 1)

    @property
    def wanders(self) -> bool:
        """Whether the slope is an unknown."""
        return self.drift is not None and self.drift.wanders

    @property
    def steps(self) -> int:
        """The walk's monthly steps (0 without a walk)."""
        return self.right + self.left

    @property
    def walk_from(self) -> int:
        """Index in ``z`` of the walk's first step: after the level and a wandering slope."""
        return 2 if self.wanders else 1

    @property
    def dims(self) -> int:
        """Length of ``z``: the level, the slope if it wanders, the walk's steps.

        A slope that cannot wander is no coordinate: a dead dimension would only lower the
        moves' acceptance.
        """
        return self.walk_from + self.steps

    def walk_rows(self, times: np.ndarray) -> np.ndarray:
        """``W(t) = walk_rows(t) @ z[walk_from:]`` (linear between the monthly knots)."""
        rows = np.zeros((len(times), self.steps))
        if self.drift is None or self.drift.walk <= 0:
            return rows
        for r, t in enumerate(times):
            x = t - self.drift.t0
            side, knots = (0, self.right) if x >= 0 else (self.right, self.left)
            whole = min(int(math.floor(abs(x))), knots - 1)
            rows[r, side: side + whole] = 1.0  # the steps passed, then part of the next
            rows[r, side + whole] = abs(x) - whole
        return rows * self.drift.walk

    def reading(self, obs: Observation, over_window: bool) -> Reading:
        """The cut times of ``obs`` and ``v``'s coefficients there (see :class:`Reading`)."""
        drift = self.drift
        t0 = drift.t0 if drift is not None else 0.0
        start, end = obs.start, obs.end
        walks = drift is not None and drift.walk > 0 and over_window
        point = not over_window or not end > start
        if drift is None or not (math.isfinite(start) and math.isfinite(end)):
            times = np.zeros(1)
            point = True
        elif point:
            times = np.array([(start + end) / 2])
        else:
            cuts = {start, end, *(t for t, _ in drift.path if start < t < end)}
            if walks:
                first, last = math.ceil(start - t0), math.floor(end - t0)
                cuts |= {t0 + m for m in range(first, last + 1) if start < t0 + m < end}
            times = np.array(sorted(cuts))
        reading = self._at(times, walks, point)
        if obs.reading == "events" and drift is not None and math.isfinite(end):
            event = self._at(np.array([end]), drift.walk > 0, True)
            reading = Reading(reading.times, reading.shape, reading.slope, reading.walk,
                              reading.point, (event.shape, event.slope, event.walk))
        return reading

    def _at(self, times: np.ndarray, walks: bool, point: bool) -> Reading:
        drift = self.drift
        if drift is None:
            return Reading(times[:1], np.zeros(1), np.zeros(1),
                           np.zeros((1, self.steps)), True)
        walk = self.walk_rows(times) if walks else np.zeros((len(times), self.steps))
        return Reading(times, np.asarray(drift.shape(times), float).reshape(-1),
                       (times - drift.t0) / 12.0, walk, point)


def log_rates(design: PathDesign, reading: Reading, z: np.ndarray,
              event: bool = False) -> np.ndarray:
    """``v - u`` at the reading's cut times for every particle: shape ``(..., cuts)``."""
    shape, slope, walk = reading.event if event and reading.event else (
        reading.shape, reading.slope, reading.walk)
    v = np.broadcast_to(shape, (*z.shape[:-1], shape.size)).copy()
    if design.wanders:
        assert design.drift is not None
        v += (design.drift.sigma * z[..., 1])[..., None] * slope
    if walk.size and walk.any():
        v += z[..., design.walk_from:] @ walk.T
    return v


def offsets(design: PathDesign, reading: Reading,
            z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the path adds to ``u`` for an observation: its rate's and its event's offsets.

    Parameters
    ----------
    design : PathDesign
        The coordinates.
    reading : Reading
        The observation's cut points (:meth:`PathDesign.reading`).
    z : ndarray, shape (..., dims)
        Particles.

    Returns
    -------
    rate, event : ndarray, shape z.shape[:-1]
        The log of the rate averaged over the period (or at its one time) less ``u``, and
        the same at a logged event's own time (0 for other readings).
    """
    v = log_rates(design, reading, z)
    if reading.point or v.shape[-1] < 2:
        rate = v[..., 0]
    else:
        times = reading.times
        length = np.diff(times)
        half = (v[..., 1:] - v[..., :-1]) / 2
        pieces = np.log(length) + (v[..., 1:] + v[..., :-1]) / 2 + log_sinhc(half)
        rate = logsumexp(pieces, axis=-1) - math.log(times[-1] - times[0])
    event = log_rates(design, reading, z, event=True)[..., 0] if reading.event else \
        np.zeros(z.shape[:-1])
    return rate, event
