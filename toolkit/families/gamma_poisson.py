"""Gamma-Poisson: counts and event occurrences with a Gamma prior on the monthly rate.

Parameter ``u = log(rate per month)``. An observation of total ``y`` over ``t`` months is
Poisson with mean ``rate * t``; a range ``[a, b]`` contributes ``P(a <= Y <= b)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize, special

from toolkit.families.observation import Observation

Params = tuple[float, float]  # (alpha, beta): shape, rate per month


def prior_from_interval(low: float, high: float, level: float, per_months: float) -> Params:
    """Gamma prior whose central ``level`` interval of the rate is ``[low, high]`` per period.

    Parameters
    ----------
    low, high : float
        Interval of the rate per period, ``0 < low < high``.
    level : float
        Probability of the interval, e.g. 0.9.
    per_months : float
        Length of the period in months.

    Returns
    -------
    tuple of float
        ``(alpha, beta)`` of the monthly rate.
    """
    q_lo, q_hi = (1 - level) / 2, (1 + level) / 2
    ratio = high / low

    def gap(log_alpha: float) -> float:
        alpha = math.exp(log_alpha)
        q_low_value = special.gammaincinv(alpha, q_lo)
        if q_low_value <= 0:
            return math.inf
        return math.log(special.gammaincinv(alpha, q_hi) / q_low_value) - math.log(ratio)

    log_alpha = optimize.brentq(gap, math.log(1e-3), math.log(1e7), xtol=1e-12)
    alpha = math.exp(log_alpha)
    beta = special.gammaincinv(alpha, q_lo) / (low / per_months)
    return alpha, beta


def prior_from_distribution(spec: dict[str, float], per_months: float) -> Params:
    """Gamma prior given directly as ``{alpha, beta}`` for the rate per period."""
    return float(spec["alpha"]), float(spec["beta"]) * per_months


def prior_mean(params: Params) -> float:
    """Prior mean of the monthly rate."""
    return params[0] / params[1]


def log_prior_u(u: np.ndarray, params: Params) -> np.ndarray:
    """Log density of ``u = log rate`` (Gamma density times the Jacobian ``rate``)."""
    alpha, beta = params
    return alpha * np.log(beta) - special.gammaln(alpha) + alpha * u - beta * np.exp(u)


def log_lik_u(u: np.ndarray, obs: Observation, params: Params) -> np.ndarray:
    """Log likelihood of one observation on a grid of ``u``."""
    mean = np.exp(u) * obs.exposure
    if obs.is_point:
        y = obs.low
        return y * np.log(mean) - mean - special.gammaln(y + 1)
    return log_interval_probability(mean, obs.low, obs.high)


def log_interval_probability(mean: np.ndarray, low: float, high: float) -> np.ndarray:
    """``log P(low <= Y <= high)`` for ``Y ~ Poisson(mean)``, stable in both tails.

    Far tails, where the probability underflows a double, are computed in log space (see
    :func:`log_at_least`, :func:`log_at_most`): a tempered likelihood ``p ** r`` of a
    strongly contradicted range must not drop to ``-inf``.
    """
    mean = np.asarray(mean, dtype=float)
    if low <= 0:
        if math.isinf(high):
            return np.zeros_like(mean)
        return log_at_most(mean, high)
    if math.isinf(high):
        return log_at_least(mean, low)
    result = np.empty_like(mean)
    below = mean < low
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m = mean[below]
        result[below] = special.gammainc(low, m) - special.gammainc(high + 1, m)
        m = mean[~below]
        result[~below] = special.gammaincc(high + 1, m) - special.gammaincc(low, m)
        result = np.array(np.log(result.clip(min=0.0)), dtype=float)
        far = ~(result > _LOG_TINY) & (mean > 0) & np.isfinite(mean)
        if far.any():  # underflow: P(Y >= low) - P(Y > high) or P(Y <= high) - P(Y < low)
            m, side = mean[far], below[far]
            fixed = np.empty_like(m)
            whole, part = log_at_least(m[side], low), log_at_least(m[side], high + 1)
            fixed[side] = whole + np.log1p(-np.exp(part - whole))
            whole, part = log_at_most(m[~side], high), log_at_most(m[~side], low - 1)
            fixed[~side] = whole + np.log1p(-np.exp(part - whole))
            result[far] = np.where(np.isfinite(fixed), fixed, -np.inf)
    return result


_LOG_TINY = math.log(1e-305)
_MAX_TERMS = 100_000


def log_at_least(mean: np.ndarray, low: float) -> np.ndarray:
    """``log P(Y >= low)`` for ``Y ~ Poisson(mean)``, ``low >= 1``, accurate in the far tail."""
    mean = np.asarray(mean, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if low == 1:
            out = np.array(np.log(-np.expm1(-mean)), dtype=float)
        else:
            out = np.array(np.log(special.gammainc(low, mean)), dtype=float)
        far = ~(out > _LOG_TINY) & (mean > 0) & (mean < low)
        if far.any():
            out[far] = _log_tail_series(mean[far], low, upper=True)
    return out


def log_at_most(mean: np.ndarray, high: float) -> np.ndarray:
    """``log P(Y <= high)`` for ``Y ~ Poisson(mean)``, ``high >= 0``, accurate in the far tail."""
    mean = np.asarray(mean, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.array(np.log(special.gammaincc(high + 1, mean)), dtype=float)
        far = ~(out > _LOG_TINY) & (mean > high) & np.isfinite(mean)
        if far.any():
            out[far] = _log_tail_series(mean[far], high, upper=False)
    return out


def _log_tail_series(mean: np.ndarray, k: float, upper: bool) -> np.ndarray:
    """``log P(Y >= k)`` for ``mean < k`` (``upper``) or ``log P(Y <= k)`` for ``mean > k``.

    Both are ``pmf(k)`` times a series whose terms shrink at least geometrically:
    ``sum_j mean^j / ((k+1)...(k+j))`` and ``sum_j k (k-1)...(k-j+1) / mean^j``. Terms are
    summed in vectorised blocks; the rare slowly converging entries continue term by term.
    """
    mean = np.asarray(mean, dtype=float)
    total = np.ones_like(mean)
    last = np.ones_like(mean)
    todo = np.arange(mean.size)
    done_terms = 0
    for block in (12, 48):
        j = np.arange(done_terms + 1, done_terms + block + 1)
        m = mean[todo, None]
        factors = m / (k + j) if upper else np.where(j <= k, (k - j + 1) / m, 0.0)
        terms = last[todo, None] * np.cumprod(factors, axis=1)
        total[todo] += terms.sum(axis=1)
        last[todo] = terms[:, -1]
        done_terms += block
        todo = todo[last[todo] > 1e-17 * total[todo]]
        if not todo.size:
            break
    for index in todo:
        term, step = last[index], done_terms
        while term > 1e-17 * total[index] and step < _MAX_TERMS:
            step += 1
            if not upper and step > k:
                break
            term *= mean[index] / (k + step) if upper else (k - step + 1) / mean[index]
            total[index] += term
    return k * np.log(mean) - mean - special.gammaln(k + 1) + np.log(total)


def closed_form(params: Params, observations: Sequence[Observation]) -> float | None:
    """Exact log marginal likelihood of exact, tempered observations; ``None`` if censored."""
    if any(o.is_censored for o in observations):
        return None
    alpha, beta = params
    r = np.array([o.reliability for o in observations])
    y = np.array([o.low for o in observations])
    t = np.array([o.exposure for o in observations])
    a_post = alpha + float(np.sum(r * y))
    b_post = beta + float(np.sum(r * t))
    constant = float(np.sum(r * (y * np.log(t) - special.gammaln(y + 1))))
    return float(
        constant + alpha * math.log(beta) - special.gammaln(alpha)
        + special.gammaln(a_post) - a_post * math.log(b_post)
    )


@functools.lru_cache(maxsize=1024)
def _prior_bulk(alpha: float, beta: float) -> list[float]:
    """``log`` of the prior's 1e-13 and 1 - 1e-13 quantiles (cached: priors repeat)."""
    return [
        math.log(special.gammaincinv(alpha, 1e-13) / beta + 1e-300),
        math.log(special.gammaincinv(alpha, 1 - 1e-13) / beta),
    ]


def bracket(params: Params, observations: Sequence[Observation]) -> tuple[float, float]:
    """An interval of ``u`` that covers the prior bulk and every observation's rate."""
    points = list(_prior_bulk(*params))
    for o in observations:
        for bound in (o.low, o.high):
            if math.isfinite(bound):
                points.append(math.log((bound + 0.5) / o.exposure))
    return min(points) - 1.0, max(points) + 1.0
