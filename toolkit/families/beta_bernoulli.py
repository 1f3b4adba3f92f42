"""Beta-Bernoulli: binary signals whose share has a Beta prior.

Parameter ``u = logit(share)``. An item of ``k`` positive signals out of ``n`` contributes
the Binomial likelihood.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import optimize, special

from toolkit.families.observation import Observation

Params = tuple[float, float]  # (a, b)


def prior_from_interval(low: float, high: float, level: float) -> Params:
    """Beta prior whose central ``level`` interval is ``[low, high]``, ``0 < low < high < 1``.

    Parameters
    ----------
    low, high : float
        Interval of the share.
    level : float
        Probability of the interval.

    Returns
    -------
    tuple of float
        ``(a, b)``.
    """
    q_lo, q_hi = (1 - level) / 2, (1 + level) / 2
    mean = (low + high) / 2
    sd = (high - low) / (2 * special.ndtri(q_hi))
    concentration = max(mean * (1 - mean) / sd**2 - 1, 0.5)
    start = np.log([mean * concentration, (1 - mean) * concentration])

    def gaps(log_ab: np.ndarray) -> np.ndarray:
        a, b = np.exp(log_ab)
        return np.array([
            special.logit(special.betaincinv(a, b, q_lo)) - special.logit(low),
            special.logit(special.betaincinv(a, b, q_hi)) - special.logit(high),
        ])

    solution = optimize.least_squares(gaps, start, xtol=1e-12, ftol=1e-12, gtol=1e-12)
    a, b = np.exp(solution.x)
    return float(a), float(b)


def prior_from_distribution(spec: dict[str, float]) -> Params:
    """Prior given directly as ``{a, b}``."""
    return float(spec["a"]), float(spec["b"])


def prior_mean(params: Params) -> float:
    """Prior mean of the share."""
    a, b = params
    return a / (a + b)


def log_prior_u(u: np.ndarray, params: Params) -> np.ndarray:
    """Log density of ``u = logit(share)`` (Beta density times the Jacobian)."""
    a, b = params
    return a * special.log_expit(u) + b * special.log_expit(-u) - special.betaln(a, b)


def log_lik_u(u: np.ndarray, obs: Observation, params: Params) -> np.ndarray:
    """Log Binomial likelihood of ``k`` positives out of ``n`` on a grid of ``u``."""
    k, n = obs.low, obs.trials
    log_choose = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return log_choose + k * special.log_expit(u) + (n - k) * special.log_expit(-u)


def closed_form(params: Params, observations: Sequence[Observation]) -> float:
    """Exact log marginal likelihood of tempered Binomial observations."""
    a, b = params
    total = 0.0
    pos = neg = 0.0
    for o in observations:
        k, n, r = o.low, o.trials, o.reliability
        total += r * float(
            special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
        )
        pos += r * k
        neg += r * (n - k)
    return total + float(special.betaln(a + pos, b + neg) - special.betaln(a, b))


def bracket(params: Params, observations: Sequence[Observation]) -> tuple[float, float]:
    """An interval of ``u`` covering the prior bulk."""
    a, b = params
    lo = special.logit(special.betaincinv(a, b, 1e-6))
    hi = special.logit(special.betaincinv(a, b, 1 - 1e-6))
    return float(lo) - 2.0, float(hi) + 2.0

