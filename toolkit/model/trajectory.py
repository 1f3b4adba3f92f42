"""Rates that move over time: how freely a true rate may wander from its expectation.

An expectation's interval says where an indicator's rate (amount, share) lies at the
case's reference time ``t0``, the middle of the case window (``start`` to ``horizon``). With
``wander: W`` (in the priors file, for the whole case or per expectation) the analyst says
the true rate "may grow or shrink by a factor of ``W`` within a year": the log rate then
follows ``u + s (t - t0)`` with a slope ``s`` per year drawn from ``Normal(0, log(W) /
1.645)`` (so the yearly factor lies within ``[1/W, W]`` with 90% probability), and every
observation sees the rate averaged over its own period. Without ``wander`` the rate is one
constant, as before.

With ``walk: J`` the rate also strays from that line month by month, as a random walk in
the log rate pinned at ``t0``: its change over a year lies within ``[1/J, J]`` with 90%
probability (monthly steps of standard deviation ``log(J) / 1.645 / sqrt(12)``). The engines
read the walk as *scatter*: an observation of ``[a, b]`` sees the rate times a factor whose
log has the variance of the walk averaged over its period (:meth:`Drift.scatter`, exact for
the Brownian walk), a Gamma factor of mean 1 for counts (negative-binomial totals) and a
Normal addition to the log for amounts. Items are read as independent given the level and
the slope: the walk's correlation between items close in time is not modelled (that needs
the latent path of the PyMC engine). Shares (``signal``) do not read the walk.

An expectation may also be a *path*: intervals at dates ("20-700 a month in 2023, 5-200 in
2026"). The log of each interval's centre (the geometric mean of ``low`` and ``high``) is
interpolated linearly in time between the points and held constant beyond the first and
the last; the prior of ``u`` is the interval interpolated (in log) at ``t0``, and the
path's shape ``g(t)`` (its log centre less that at ``t0``) is added to the log rate:
``u + g(t) + s (t - t0)``, with the slope only where the rate also wanders. So the path
moves the expected rate over time and the interval at ``t0`` says how sure the analyst is
of its level.

An observation's *offset* is what the path and the slope add to ``u`` for it:
``log(mean over the period of exp(g(t) + s (t - t0)))`` for totals (the rate integrates
over the period; exact, segment by segment between the path's dates), the value at the
midpoint for events' own times.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from toolkit.families.observation import DAYS_PER_MONTH

EPOCH = dt.date(2000, 1, 1)
#: The z-value of a central 90% interval: ``wander: W`` puts W at the 95th percentile.
Z90 = 1.6448536269514722


def months_since_epoch(day: dt.date) -> float:
    """Months from 2000-01-01 to the start of ``day``."""
    return (day - EPOCH).days / DAYS_PER_MONTH


def log_sinhc(x: np.ndarray) -> np.ndarray:
    """``log(sinh(x) / x)``, stable for every real ``x`` (0 at ``x = 0``)."""
    x = np.abs(np.asarray(x, dtype=float))
    small = x < 1e-4
    safe = np.where(small, 1.0, x)
    with np.errstate(over="ignore"):
        big = safe - np.log(2 * safe) + np.log1p(-np.exp(-2 * safe))
        moderate = np.log(np.sinh(np.minimum(safe, 700.0)) / safe)
    return np.where(small, x * x / 6, np.where(safe > 20, big, moderate))


@dataclass(frozen=True)
class Drift:
    """The time-aware model of one indicator under one scenario.

    Attributes
    ----------
    t0 : float
        Reference time (months since 2000-01-01) at which the expectation holds.
    sigma : float
        Standard deviation of the slope of the log rate, per year (``log(W) / 1.645``);
        0 when the rate does not wander (the slope is then 0).
    path : tuple of (month, g) pairs
        The path's shape: times and the log centre less that at ``t0``; empty for a
        constant expectation.
    walk : float
        Standard deviation of the log rate's random walk per month (0: no walk).
    """

    t0: float
    sigma: float
    path: tuple[tuple[float, float], ...] = ()
    walk: float = 0.0

    @property
    def wanders(self) -> bool:
        """Whether the slope is integrated (``sigma > 0``)."""
        return self.sigma > 0

    def scatter(self, start: float, end: float) -> float:
        """Variance of the walk averaged over ``[start, end]`` (months; the walk is 0 at ``t0``).

        With ``W`` a Brownian walk of variance ``walk**2 |t - t0|`` on each side of ``t0``
        (the two sides independent), the mean of ``W`` over a period is Normal with this
        variance: ``walk**2 (d1 + (d2 - d1) / 3)`` for a period ``[d1, d2]`` on one side,
        and the two sides' ``d**3 / 3`` over the squared length for one that spans ``t0``.
        A point in time (``start == end``) has ``walk**2 |t - t0|``.
        """
        if self.walk <= 0:
            return 0.0
        a, b = start - self.t0, end - self.t0
        if b - a <= 0:
            return self.walk ** 2 * abs(a)
        if a >= 0 or b <= 0:
            near, far = sorted((abs(a), abs(b)))
            return self.walk ** 2 * (near + (far - near) / 3)
        return self.walk ** 2 * (-a ** 3 / 3 + b ** 3 / 3) / (b - a) ** 2

    def shape(self, t: np.ndarray | float) -> np.ndarray:
        """The path's ``g(t)`` (0 without a path)."""
        if not self.path:
            return np.zeros_like(np.asarray(t, dtype=float))
        times, values = zip(*self.path, strict=True)
        return np.interp(t, times, values)

    def offsets(self, slopes: np.ndarray, start: float, end: float,
                over_window: bool = True) -> np.ndarray:
        """What the path and each slope add to ``u`` for an observation of ``[start, end]``.

        Parameters
        ----------
        slopes : ndarray
            Slopes per year.
        start, end : float
            The observation's period in months since 2000-01-01 (``end`` after its last
            day); an event has ``start == end``.
        over_window : bool
            Average the rate over the period (totals) or take its midpoint (shares).
        """
        c = np.asarray(slopes, dtype=float) / 12.0
        if not over_window or end <= start:
            middle = (start + end) / 2
            return c * (middle - self.t0) + float(self.shape(middle))
        cuts = [start, *(t for t, _ in self.path if start < t < end), end]
        total = np.full(c.shape, -np.inf)
        for a, b in zip(cuts, cuts[1:], strict=False):
            middle, half = (a + b) / 2, (b - a) / 2
            g_a, g_b = float(self.shape(a)), float(self.shape(b))
            tilt = (g_b - g_a) / (b - a) + c  # the log rate's slope on this segment
            piece = (math.log(b - a) + (g_a + g_b) / 2 + c * (middle - self.t0)
                     + log_sinhc(tilt * half))
            total = np.logaddexp(total, piece)
        return total - math.log(end - start)

    def log_event_moment(self, n: float, t: float) -> float:
        """``log E[exp(n * offset(s, t))]`` over the slope's prior, for an event at ``t``.

        At a point in time the offset is ``s (t - t0) / 12 + g(t)``, linear in the Normal
        slope, so the moment is ``n g(t) + (n sigma (t - t0) / 12)**2 / 2``: an event's
        prior density ``E[rate(t)^n]`` is its constant-rate value times this factor.
        """
        spread = n * self.sigma * (t - self.t0) / 12.0
        return n * float(self.shape(t)) + 0.5 * spread * spread

    def log_prior(self, slopes: np.ndarray) -> np.ndarray:
        """Normal log density of the slopes (0 for the one slope of a rate that does not wander)."""
        if not self.wanders:
            return np.zeros_like(np.asarray(slopes, dtype=float))
        z = np.asarray(slopes, dtype=float) / self.sigma
        return -0.5 * z * z - math.log(self.sigma * math.sqrt(2 * math.pi))


def reference_month(start: dt.date | None, horizon: dt.date) -> float:
    """The case's reference time ``t0`` in months since 2000-01-01.

    The middle of ``start`` (or six years before the horizon) to the horizon.
    """
    first = start or dt.date(horizon.year - 6, horizon.month, 1)
    return (months_since_epoch(first) + months_since_epoch(horizon)) / 2


def path_interval(path: Sequence[Any], month: float) -> tuple[float, float]:
    """``(low, high)`` of a path at ``month``, interpolated in log (constant beyond its ends)."""
    times = [months_since_epoch(point.day) for point in path]
    low = math.exp(float(np.interp(month, times, [math.log(p.low) for p in path])))
    high = math.exp(float(np.interp(month, times, [math.log(p.high) for p in path])))
    return low, high


def at_reference(expectation: Any, t0: float | None) -> Any:
    """``expectation`` with a path replaced by its interval at ``t0`` (others unchanged)."""
    if expectation.path is None:
        return expectation
    if t0 is None:
        raise ValueError("a path needs the case's reference time")
    low, high = path_interval(expectation.path, t0)
    return expectation.model_copy(update={"path": None, "low": low, "high": high})


def path_shape(path: Sequence[Any], t0: float) -> tuple[tuple[float, float], ...]:
    """The path's times and log centres less the log centre at ``t0`` (see :class:`Drift`)."""
    times = [months_since_epoch(point.day) for point in path]
    centres = [0.5 * (math.log(p.low) + math.log(p.high)) for p in path]
    at_t0 = float(np.interp(t0, times, centres))
    return tuple((t, c - at_t0) for t, c in zip(times, centres, strict=True))


def drift_for(wander: float | None, start: dt.date | None, horizon: dt.date,
              path: Sequence[Any] | None = None, walk: float | None = None) -> Drift | None:
    """The time-aware model of an expectation (``None``: a constant rate).

    ``wander`` and ``walk`` are the priors' yearly factors (``W``, ``J`` in the module
    docstring).
    """
    if wander is None and walk is None and not path:
        return None
    t0 = reference_month(start, horizon)
    sigma = math.log(wander) / Z90 if wander is not None else 0.0
    step = math.log(walk) / Z90 / math.sqrt(12.0) if walk is not None else 0.0
    return Drift(t0, sigma, path_shape(path, t0) if path else (), step)


def expectation_drift(priors: Any, expectation: Any, walks: bool = True) -> Drift | None:
    """:func:`drift_for` of an expectation, its own ``wander``/``walk`` before the case's.

    ``walks=False`` (shares) ignores ``walk``.
    """
    def setting(name: str) -> float | None:
        own = getattr(expectation, name)
        return own if own is not None else getattr(priors, name)

    return drift_for(setting("wander"), priors.start, priors.horizon, expectation.path,
                     setting("walk") if walks else None)


__all__ = ["EPOCH", "Drift", "at_reference", "drift_for", "expectation_drift", "log_sinhc",
           "months_since_epoch", "path_interval", "path_shape", "reference_month"]
