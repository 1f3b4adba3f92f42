"""Rates that move over time: how freely a true rate may wander from its expectation.

An expectation's interval says where an indicator's rate (amount, share) lies at the
case's reference time ``t0``, the middle of the case window (``start`` to ``horizon``). With
``wander: W`` (in the priors file, for the whole case or per expectation) the analyst says
the true rate "may grow or shrink by a factor of ``W`` within a year": the log rate then
follows ``u + s (t - t0)`` with a slope ``s`` per year drawn from ``Normal(0, log(W) /
1.645)`` (so the yearly factor lies within ``[1/W, W]`` with 90% probability), and every
observation sees the rate averaged over its own period. Without ``wander`` the rate is one
constant, as before.

An observation's *offset* is what the slope adds to ``u`` for it: ``log(mean over the
period of exp(s (t - t0)))`` for totals (the rate integrates over the period), the value at
the midpoint for shares.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

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
    """The slope model of one indicator under one scenario.

    Attributes
    ----------
    t0 : float
        Reference time (months since 2000-01-01) at which the expectation holds.
    sigma : float
        Standard deviation of the slope of the log rate, per year (``log(W) / 1.645``).
    """

    t0: float
    sigma: float

    def offsets(self, slopes: np.ndarray, start: float, end: float,
                over_window: bool = True) -> np.ndarray:
        """What each slope adds to ``u`` for an observation of ``[start, end]`` (months).

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
        middle, half = (start + end) / 2, (end - start) / 2
        centre = c * (middle - self.t0)
        return centre + log_sinhc(c * half) if over_window and half > 0 else centre

    def log_prior(self, slopes: np.ndarray) -> np.ndarray:
        """Normal log density of the slopes."""
        z = np.asarray(slopes, dtype=float) / self.sigma
        return -0.5 * z * z - math.log(self.sigma * math.sqrt(2 * math.pi))


def drift_for(wander: float | None, start: dt.date | None, horizon: dt.date) -> Drift | None:
    """The drift of an expectation with ``wander`` (``None``: a constant rate)."""
    if wander is None:
        return None
    first = start or dt.date(horizon.year - 6, horizon.month, 1)
    t0 = (months_since_epoch(first) + months_since_epoch(horizon)) / 2
    return Drift(t0, math.log(wander) / Z90)


__all__ = ["EPOCH", "Drift", "drift_for", "log_sinhc", "months_since_epoch"]
