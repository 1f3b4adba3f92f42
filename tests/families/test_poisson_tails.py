"""Poisson and negative-binomial tails against 40-digit sums of the pmf (mpmath)."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

from toolkit.families.poisson_tails import (
    TEMME_FROM,
    log_at_least,
    log_at_most,
    log_interval_probability,
    log_nbinom_interval,
)

mp.mp.dps = 40
TOL = 1e-10  # in log, relative to max(1, |log P|)


def _sum_up(mean: float, k: int) -> mp.mpf:
    """``sum_{j >= k} pmf(j)`` for ``mean < k``: terms shrink from ``pmf(k)`` on."""
    m = mp.mpf(mean)
    term = mp.exp(k * mp.log(m) - m - mp.loggamma(k + 1))
    total, j = term, k
    while term > total * mp.mpf(10) ** -45:
        j += 1
        term *= m / j
        total += term
    return total


def _sum_down(mean: float, k: int) -> mp.mpf:
    """``sum_{j <= k} pmf(j)`` for ``mean > k``: terms shrink from ``pmf(k)`` down."""
    m = mp.mpf(mean)
    term = mp.exp(k * mp.log(m) - m - mp.loggamma(k + 1))
    total, j = term, k
    while j > 0 and term > total * mp.mpf(10) ** -45:
        term *= j / m
        j -= 1
        total += term
    return total


def reference_at_least(mean: float, k: int) -> float:
    """``log P(Y >= k)`` to 40 digits."""
    if mean < k:
        return float(mp.log(_sum_up(mean, k)))
    return float(mp.log1p(-_sum_down(mean, k - 1)))


def reference_at_most(mean: float, k: int) -> float:
    """``log P(Y <= k)`` to 40 digits."""
    if mean > k:
        return float(mp.log(_sum_down(mean, k)))
    return float(mp.log1p(-_sum_up(mean, k + 1)))


def close(got: float, expected: float) -> bool:
    return abs(got - expected) <= TOL * max(1.0, abs(expected))


@pytest.mark.parametrize("k", [1_000, 100_000, 1_000_000, 3_000_000])
@pytest.mark.parametrize("ratio", [0.3, 0.9, 0.99, 0.999, 1.0, 1.001, 1.01, 1.1, 3.0])
def test_tails_near_a_million_match_the_high_precision_sums(k: int, ratio: float) -> None:
    mean = k * ratio
    assert close(float(log_at_least(np.array([mean]), k)[0]), reference_at_least(mean, k))
    assert close(float(log_at_most(np.array([mean]), k)[0]), reference_at_most(mean, k))


@pytest.mark.parametrize(("mean", "k"), [
    (10.0, 1e9), (1e5, 1e9), (9e8, 1e9), (1e6, 1e12), (3.0, 1e6), (2e4 * 0.6, 2e4),
])
def test_far_upper_tails_of_huge_bounds(mean: float, k: float) -> None:
    """Where the probability underflows: Temme's expansion (k >= 1e4), in log space."""
    assert k >= TEMME_FROM
    got = float(log_at_least(np.array([mean]), k)[0])
    assert got < -700
    assert close(got, reference_at_least(mean, int(k)))


@pytest.mark.parametrize(("mean", "k"), [(1e9, 10.0), (1.1e9, 1e9), (1e6, 1e4), (3e4, 2e4)])
def test_far_lower_tails_of_huge_means(mean: float, k: float) -> None:
    got = float(log_at_most(np.array([mean]), k)[0])
    assert got < -700
    assert close(got, reference_at_most(mean, int(k)))


@pytest.mark.parametrize(("low", "high"), [(1_000_000, 1_200_000), (999_000, 1_001_000),
                                           (500_000, 2_000_000)])
def test_ranges_near_a_million(low: int, high: int) -> None:
    for mean in np.geomspace(low * 0.7, high * 1.4, 9):
        if mean < low:
            expected = _sum_up(mean, low) - _sum_up(mean, high + 1)
        elif mean > high:
            expected = _sum_down(mean, high) - _sum_down(mean, low - 1)
        else:
            expected = 1 - _sum_down(mean, low - 1) - _sum_up(mean, high + 1)
        got = float(log_interval_probability(np.array([mean]), low, high)[0])
        assert close(got, float(mp.log(expected))), mean


def test_the_far_tails_stay_finite_and_ordered_on_a_grid() -> None:
    mean = np.geomspace(1.0, 1e12, 2001)
    values = log_at_least(mean, 1e9)
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) >= -1e-9 * np.abs(values[1:]))  # rises with the mean
    assert values[-1] == pytest.approx(0.0, abs=1e-12)
    assert math.isclose(values[0], -math.lgamma(1e9 + 1), rel_tol=1e-9)  # pmf(k) at mean 1


def _nb_sum(mean: float, phi: float, low: float, high: float) -> mp.mpf:
    """``P(low <= Y <= high)`` of the negative binomial by summing its pmf away from the mode."""
    size, m = mp.mpf(1) / phi, mp.mpf(mean)
    log_p, log_q = mp.log(size / (size + m)), mp.log(m / (size + m))

    def pmf(k: mp.mpf) -> mp.mpf:
        return mp.exp(mp.loggamma(k + size) - mp.loggamma(size) - mp.loggamma(k + 1)
                      + size * log_p + k * log_q)

    upward = math.isinf(high) or low > mean
    k = mp.mpf(low if upward else high)
    term, total = pmf(k), mp.mpf(0)
    while True:
        total += term
        if upward:
            if (not math.isinf(high) and k >= high) or (
                    term < total * mp.mpf(10) ** -35 and (k + size) / (k + 1) * mp.exp(log_q) < 1):
                return total
            term *= (k + size) / (k + 1) * mp.exp(log_q)
        else:
            if k <= low or k == 0:
                return total
            term *= k / ((k - 1 + size) * mp.exp(log_q))
        k += 1 if upward else -1


@pytest.mark.parametrize("phi", [0.01, 0.1, 1.0])
@pytest.mark.parametrize(("mean", "low", "high"), [
    (30.0, 50, math.inf), (1000.0, 2000, 5000), (1000.0, 0, 100), (1e5, 0, 10),
    (5.0, 400, math.inf), (1e4, 1, 3), (2.0, 0, 1), (40.0, 45, 60)])
def test_negative_binomial_intervals_match_sums_of_the_pmf(mean: float, low: float,
                                                           high: float, phi: float) -> None:
    got = float(log_nbinom_interval(np.array([mean]), low, high, phi)[0])
    want = float(mp.log(_nb_sum(mean, phi, low, high)))
    assert abs(got - want) <= 1e-8 * max(1.0, abs(want))
