"""Normal-LogNormal: positive amounts per period with a Normal prior on the log monthly amount.

Parameter ``u = log(amount per month)``. A reported total ``A`` over ``t`` months has
``log A - log t ~ Normal(u, noise_log_sd)``; a range ``[a, b]`` contributes the Normal
probability of ``[log a - log t, log b - log t]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special

from toolkit.families.observation import Observation

Params = tuple[float, float, float]  # (mu0, sigma0, noise_log_sd)
_LOG_2PI = math.log(2 * math.pi)


def prior_from_interval(
    low: float, high: float, level: float, per_months: float, noise_log_sd: float
) -> Params:
    """Normal prior on the log monthly amount whose ``level`` interval maps to ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Interval of the amount per period, ``0 < low < high``.
    level : float
        Probability of the interval.
    per_months : float
        Length of the period in months.
    noise_log_sd : float
        Reporting noise of the indicator (sd of log reported / true amount).

    Returns
    -------
    tuple of float
        ``(mu0, sigma0, noise_log_sd)``.
    """
    z = special.ndtri((1 + level) / 2)
    mu0 = (math.log(low) + math.log(high)) / 2 - math.log(per_months)
    sigma0 = (math.log(high) - math.log(low)) / (2 * z)
    return mu0, sigma0, noise_log_sd


def prior_from_distribution(
    spec: dict[str, float], per_months: float, noise_log_sd: float
) -> Params:
    """Prior given as ``{mu, sigma}`` of the log amount per period."""
    return float(spec["mu"]) - math.log(per_months), float(spec["sigma"]), noise_log_sd


def prior_mean(params: Params) -> float:
    """Prior mean of the monthly amount."""
    mu0, sigma0, _ = params
    return math.exp(mu0 + sigma0**2 / 2)


def log_prior_u(u: np.ndarray, params: Params) -> np.ndarray:
    """Log Normal density of ``u``."""
    mu0, sigma0, _ = params
    return -0.5 * ((u - mu0) / sigma0) ** 2 - np.log(sigma0) - 0.5 * _LOG_2PI


def _log_scale(value: float, exposure: float) -> float:
    return math.log(value) - math.log(exposure) if value > 0 else -math.inf


def log_lik_u(u: np.ndarray, obs: Observation, params: Params) -> np.ndarray:
    """Log likelihood of one observation on a grid of ``u``."""
    noise = params[2]
    if obs.is_point:
        x = _log_scale(obs.low, obs.exposure)
        return -0.5 * ((x - u) / noise) ** 2 - np.log(noise) - 0.5 * _LOG_2PI
    z_lo = (_log_scale(obs.low, obs.exposure) - u) / noise
    z_hi = (_log_scale(obs.high, obs.exposure) - u) / noise if math.isfinite(obs.high) else np.inf
    return log_normal_interval(z_lo, z_hi)


def log_normal_interval(z_lo: np.ndarray, z_hi: np.ndarray) -> np.ndarray:
    """``log(Phi(z_hi) - Phi(z_lo))``, stable in both tails."""
    z_lo, z_hi = np.broadcast_arrays(np.asarray(z_lo, float), np.asarray(z_hi, float))
    upper_tail = z_lo > 0
    a = np.where(upper_tail, -z_hi, z_lo)
    b = np.where(upper_tail, -z_lo, z_hi)
    log_b = special.log_ndtr(b)
    log_a = special.log_ndtr(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_b + np.log1p(-np.exp(log_a - log_b))


def closed_form(params: Params, observations: Sequence[Observation]) -> float | None:
    """Exact log marginal likelihood of exact, tempered observations; ``None`` if censored."""
    if any(o.is_censored for o in observations):
        return None
    mu0, sigma0, noise = params
    r = np.array([o.reliability for o in observations])
    x = np.array([_log_scale(o.low, o.exposure) for o in observations])
    precision = float(np.sum(r)) / noise**2 + 1 / sigma0**2
    linear = float(np.sum(r * x)) / noise**2 + mu0 / sigma0**2
    constant = -0.5 * float(np.sum(r)) * (_LOG_2PI + 2 * math.log(noise))
    quadratic = -0.5 * float(np.sum(r * x**2)) / noise**2 - 0.5 * mu0**2 / sigma0**2
    return float(
        constant + quadratic - math.log(sigma0) - 0.5 * math.log(precision)
        + linear**2 / (2 * precision)
    )


def bracket(params: Params, observations: Sequence[Observation]) -> tuple[float, float]:
    """An interval of ``u`` covering the prior bulk and every observation."""
    mu0, sigma0, noise = params
    points = [mu0 - 6 * sigma0, mu0 + 6 * sigma0]
    for o in observations:
        for bound in (o.low, o.high):
            if math.isfinite(bound) and bound > 0:
                points.append(_log_scale(bound, o.exposure))
    return min(points) - 3 * noise, max(points) + 3 * noise
