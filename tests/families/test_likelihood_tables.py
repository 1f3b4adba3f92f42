"""Tables the sampler reads: the cubic spline on uniform knots and the counts' likelihood tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from toolkit.families import family_for
from toolkit.families.observation import Observation
from toolkit.families.poisson_tails import table_span
from toolkit.families.tables import MAX_KNOTS, CubicTable, likelihood_table


def test_a_cubic_table_is_within_its_error_bound_and_exact_outside() -> None:
    """``exp`` on knots 0.01 apart: the cubic's error ``h^4 max|f''''| / 384``, here 1e-10."""
    calls = []

    def f(x: np.ndarray) -> np.ndarray:
        calls.append(np.size(x))
        return np.exp(x)

    table = CubicTable.build(f, -1.0, 1.0, 0.01)
    assert table.coefficients.shape == (4, 200) and table.hi == pytest.approx(1.0)
    x = np.random.default_rng(0).uniform(-1, 1, 10_000)
    inside = np.abs(table(x) - np.exp(x)) / np.exp(x)
    assert 1e-12 < inside.max() < 5 * 0.01 ** 4 / 384 * math.e  # 3.5e-10
    outside = np.array([[-3.0, 2.5], [np.nan, 1.0]])
    calls.clear()
    values = table(outside)
    assert values.shape == (2, 2) and calls == [3]  # the three off the knots, evaluated
    np.testing.assert_array_equal(values[0], np.exp([-3.0, 2.5]))
    assert np.isnan(values[1, 0]) and values[1, 1] == pytest.approx(math.e, rel=1e-12)
    assert float(table(np.float64(0.5))) == pytest.approx(math.exp(0.5), rel=1e-9)


CENSORED = [
    (1, 50, 3.78, 0.0),  # the bundled case's first drone report
    (200, 900, 13.0, 0.0),
    (300_000, 390_000, 20.0, 0.0),  # shells: knots a fifth of a thousandth apart
    (1, math.inf, 2.0, 0.0),  # at least one
    (0, 5, 1.0, 0.0),  # at most five
    (10, 20, 0.05, 0.0),
    (2, 9, 3.0, 0.3),  # negative binomial: a rate's walk
]


@pytest.mark.parametrize(("low", "high", "months", "scatter"), CENSORED)
def test_a_censored_counts_table_matches_its_likelihood(low, high, months, scatter) -> None:
    """Within 2e-7 of the direct likelihood, relative to ``max(1, |value|)``, over the knots."""
    family = family_for("count")
    item = Observation("E", "x", months, low, high, 1.0, 1, scatter=scatter)
    table = family.log_lik_table(item, (1.0, 1.0))
    assert table is not None
    u = np.random.default_rng(1).uniform(table.lo, table.hi, 50_000)
    direct = family.bound_log_lik(u, item, (1.0, 1.0))
    assert np.all(np.isfinite(direct))
    error = np.abs(table(u) - direct) / np.maximum(1.0, np.abs(direct))
    assert error.max() < 2e-7
    places = [math.log(max(b, 0.5) / months) for b in (low, high) if 0 < b < math.inf]
    assert table.lo < min(places) - 11 and table.hi > max(places) + 11  # prior draws far off


def test_exact_counts_and_huge_bounds_have_no_table() -> None:
    """A point count is cheap (its pmf); a bound needing over MAX_KNOTS knots is not tabulated."""
    family = family_for("count")
    assert family.log_lik_table(Observation("E", "x", 2.0, 3, 3, 1.0, 1), (1.0, 1.0)) is None
    huge = Observation("E", "x", 30.0, 1e6, 2e6, 1.0, 1)
    lo, hi, step = table_span(huge)
    assert (hi - lo) / step > MAX_KNOTS and family.log_lik_table(huge, (1.0, 1.0)) is None
    assert likelihood_table(("never",), np.exp, 0.0, math.inf, 0.1) is None
    assert family_for("amount").log_lik_table(Observation("E", "x", 2.0, 1, 3, 1.0, 1),
                                              (0.0, 1.0, 0.3)) is None


@pytest.mark.parametrize(("reliability", "mixture"), [(1.0, True), (0.6, True), (0.0, True),
                                                    (0.6, False)])
def test_the_samplers_likelihood_applies_reliability_to_the_table(reliability, mixture) -> None:
    """``sampler_log_lik`` equals ``item_log_lik`` (mixture and reference included) to 1e-6."""
    family = family_for("count")
    item = Observation("E", "x", 13.0, 200, 900, reliability, 1, mixture=mixture, log_ref=-3.1)
    assert family.log_lik_table(item, (1.4, 0.0025)) is not None
    u = np.linspace(-2.0, 9.0, 4001)
    fast = family.sampler_log_lik(item, (1.4, 0.0025))(u, u)
    np.testing.assert_allclose(fast, family.item_log_lik(u, item, (1.4, 0.0025)),
                               rtol=1e-6, atol=1e-6)
