"""Poisson interval probabilities that stay accurate in the far tails (NumPy and PyTensor).

A tempered likelihood ``p ** r`` of a strongly contradicted range must not drop to
``-inf``, so where ``P(low <= Y <= high)`` underflows a double the tails are computed in
log space from their leading series. The PyTensor form (:func:`log_censored_ops`) is the
one the PyMC engine's NUTS target and importance sampler share.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special, stats


def log_interval_probability(mean: np.ndarray, low: float, high: float,
                             far_tails: bool = True) -> np.ndarray:
    """``log P(low <= Y <= high)`` for ``Y ~ Poisson(mean)``, stable in both tails.

    Far tails, where the probability underflows a double, are computed in log space (see
    :func:`log_at_least`, :func:`log_at_most`): a tempered likelihood ``p ** r`` of a
    strongly contradicted range must not drop to ``-inf``. With ``far_tails=False`` they
    are ``-inf`` instead (a mixed item's likelihood is then its reference, to 1e-300).
    """
    mean = np.asarray(mean, dtype=float)
    if low <= 0:
        if math.isinf(high):
            return np.zeros_like(mean)
        return log_at_most(mean, high, far_tails)
    if math.isinf(high):
        return log_at_least(mean, low, far_tails)
    result = np.empty_like(mean)
    below = mean < low
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m = mean[below]
        result[below] = special.gammainc(low, m) - special.gammainc(high + 1, m)
        m = mean[~below]
        result[~below] = special.gammaincc(high + 1, m) - special.gammaincc(low, m)
        result = np.array(np.log(result.clip(min=0.0)), dtype=float)
        far = ~(result > _LOG_TINY) & (mean > 0) & np.isfinite(mean) & far_tails
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


def log_at_least(mean: np.ndarray, low: float, far_tails: bool = True) -> np.ndarray:
    """``log P(Y >= low)`` for ``Y ~ Poisson(mean)``, ``low >= 1``, accurate in the far tail."""
    mean = np.asarray(mean, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if low == 1:
            out = np.array(np.log(-np.expm1(-mean)), dtype=float)
        else:
            out = np.array(np.log(special.gammainc(low, mean)), dtype=float)
        far = ~(out > _LOG_TINY) & (mean > 0) & (mean < low) & far_tails
        if far.any():
            out[far] = _log_tail_series(mean[far], low, upper=True)
    return out


def log_at_most(mean: np.ndarray, high: float, far_tails: bool = True) -> np.ndarray:
    """``log P(Y <= high)`` for ``Y ~ Poisson(mean)``, ``high >= 0``, accurate in the far tail."""
    mean = np.asarray(mean, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.array(np.log(special.gammaincc(high + 1, mean)), dtype=float)
        far = ~(out > _LOG_TINY) & (mean > high) & np.isfinite(mean) & far_tails
        if far.any():
            out[far] = _log_tail_series(mean[far], high, upper=False)
    return out


def _log_tail_series(mean: np.ndarray, k: float, upper: bool) -> np.ndarray:
    """``log P(Y >= k)`` for ``mean < k`` (``upper``) or ``log P(Y <= k)`` for ``mean > k``.

    Both are ``pmf(k)`` times a series whose terms shrink at least geometrically:
    ``sum_j mean^j / ((k+1)...(k+j))`` and ``sum_j k (k-1)...(k-j+1) / mean^j``. Terms are
    summed in vectorised blocks of doubling size (a mean close to a large ``k`` needs
    thousands of terms; term by term in Python that took seconds per grid).
    """
    mean = np.asarray(mean, dtype=float)
    total = np.ones_like(mean)
    last = np.ones_like(mean)
    todo = np.arange(mean.size)
    done_terms, block = 0, 16
    while todo.size and done_terms < _MAX_TERMS:
        j = np.arange(done_terms + 1, done_terms + block + 1)
        m = mean[todo, None]
        factors = m / (k + j) if upper else np.where(j <= k, (k - j + 1) / m, 0.0)
        terms = last[todo, None] * np.cumprod(factors, axis=1)
        total[todo] += terms.sum(axis=1)
        last[todo] = terms[:, -1]
        done_terms += block
        block = min(2 * block, 4096)
        todo = todo[last[todo] > 1e-17 * total[todo]]
    return k * np.log(mean) - mean - special.gammaln(k + 1) + np.log(total)


#: PyTensor densities: probabilities below ``FAR`` switch to the far-tail asymptotics.
TINY = 1e-300
FAR = 1e-280
_HUGE = np.float64(1e300)


def count_interval(mean: np.ndarray, low: float, high: float, phi: float) -> np.ndarray:
    """``P(low <= Y <= high)`` for a Poisson (``phi = 0``) or negative-binomial count."""
    if phi <= 0:
        return np.exp(log_interval_probability(mean, low, high))
    size = 1.0 / phi
    return nbinom_interval(low, high, size, size / (size + mean))


def nbinom_interval(low: float, high: float, size: Any, p: Any) -> Any:
    """``P(low <= Y <= high)`` for a negative binomial ``Y`` (``high = inf``: open)."""
    if math.isinf(high):
        return stats.nbinom.sf(low - 1, size, p)
    return stats.nbinom.cdf(high, size, p) - (stats.nbinom.cdf(low - 1, size, p)
                                              if low > 0 else 0.0)


def safe_log(ops: Any, p: Any) -> Any:
    """``log p`` with ``p`` clipped into ``[TINY, 2]`` (``ops``: NumPy or PyTensor)."""
    return ops.log(ops.clip(p, TINY, 2.0))


def log_censored_ops(ops: Any, mean: Any, low: Any, high: Any, has_low: Any, is_open: Any) -> Any:
    """``log P(low <= Y <= high)``, Poisson, in ``ops``: the smaller tail's difference.

    Where that difference underflows (a far tail), the tail's leading terms take over:
    ``P(Y >= low) ~ pmf(low) (low + 1) / (low + 1 - mean)`` for ``mean < low`` and
    ``P(Y <= high) ~ pmf(high) mean / (mean - high)`` for ``mean > high``, so the density and
    its gradient stay finite and point back towards the data.
    """
    safe_low = ops.where(has_low, low, 1.0)
    is_upper = ops.lt(mean, low)
    upper = (ops.gammainc(safe_low, mean)
             - ops.where(is_open, 0.0, ops.gammainc(high + 1, mean)))
    lower = (ops.where(is_open, 1.0, ops.gammaincc(high + 1, mean))
             - ops.where(has_low, ops.gammaincc(safe_low, mean), 0.0))
    value = ops.where(is_upper, upper, lower)
    log_mean = ops.log(mean)
    far_upper = (low * log_mean - mean - ops.gammaln(low + 1)
                 + ops.log((low + 1) / ops.clip(low + 1 - mean, 1e-6, _HUGE)))
    far_lower = (high * log_mean - mean - ops.gammaln(high + 1)
                 + ops.log(mean / ops.clip(mean - high, 1e-6, _HUGE)))
    far = ops.where(is_upper, far_upper, far_lower)
    return ops.where(ops.gt(value, FAR), ops.log(ops.clip(value, FAR, 2.0)), far)
