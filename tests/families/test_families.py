"""Likelihood families: closed forms against quadrature and against SciPy's distributions."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest
from scipy import special, stats

from toolkit.families import beta_bernoulli, family_for, gamma_poisson, normal_lognormal
from toolkit.families.observation import Observation
from toolkit.inference.engines.exact import log_marginal
from toolkit.inference.quadrature import log_integral

TOL = 1e-8


def obs(low: float, high: float | None = None, exposure: float = 1.0, r: float = 1.0,
        trials: int = 1) -> Observation:
    """A test observation (``high`` defaults to ``low``: a point value)."""
    return Observation("T", "x", exposure, low, low if high is None else high, r, trials)


def by_quadrature(family: ModuleType, params: tuple, observations: list[Observation]) -> float:
    """The tempered marginal likelihood integrated numerically over the family's ``u``."""
    def log_f(u: np.ndarray) -> np.ndarray:
        total = family.log_prior_u(u, params)
        for o in observations:
            total = total + o.reliability * family.log_lik_u(u, o, params)
        return total

    lo, hi = family.bracket(params, observations)
    return log_integral(log_f, lo, hi)


GAMMA_CASES = [
    ((2.0, 0.5), [obs(3, exposure=2.0)]),
    ((2.0, 0.5), [obs(3, exposure=2.0, r=0.3), obs(0, exposure=0.5, r=0.9)]),
    ((0.7, 0.004), [obs(40, exposure=0.2, r=0.42), obs(350, exposure=3.1, r=1.0),
                    obs(12, exposure=0.03, r=0.05)]),
    ((25.0, 3.0), [obs(0, exposure=12.0, r=0.72)]),
    ((1.2, 0.0049), [obs(300000, exposure=6.77, r=0.7225)]),
]


@pytest.mark.parametrize(("params", "observations"), GAMMA_CASES)
def test_gamma_poisson_closed_form_matches_quadrature(params, observations) -> None:
    exact = gamma_poisson.closed_form(params, observations)
    assert exact is not None
    assert exact == pytest.approx(by_quadrature(gamma_poisson, params, observations),
                                  abs=TOL, rel=TOL)


def test_gamma_poisson_closed_form_is_the_negative_binomial() -> None:
    alpha, beta, t = 2.5, 0.8, 1.7
    for y in (0, 1, 4, 30):
        expected = stats.nbinom.logpmf(y, alpha, beta / (beta + t))
        assert gamma_poisson.closed_form((alpha, beta), [obs(y, exposure=t)]) == pytest.approx(
            expected, abs=1e-12)


NORMAL_CASES = [
    ((0.3, 0.6, 0.35), [obs(2.76, exposure=12.0)]),
    ((-1.0, 1.5, 0.35), [obs(2.76, exposure=12.0, r=0.55), obs(0.4, exposure=1.0, r=0.2)]),
    ((-3.0, 0.2, 0.05), [obs(0.01, exposure=0.5, r=1.0), obs(0.2, exposure=3.0, r=0.01)]),
]


@pytest.mark.parametrize(("params", "observations"), NORMAL_CASES)
def test_normal_lognormal_closed_form_matches_quadrature(params, observations) -> None:
    exact = normal_lognormal.closed_form(params, observations)
    assert exact is not None
    assert exact == pytest.approx(by_quadrature(normal_lognormal, params, observations),
                                  abs=TOL, rel=TOL)


def test_normal_lognormal_closed_form_is_a_normal_marginal() -> None:
    mu0, sigma0, noise = 0.2, 0.7, 0.35
    amount, months = 2.76, 12.0
    x = math.log(amount) - math.log(months)
    expected = stats.norm.logpdf(x, mu0, math.hypot(sigma0, noise))
    got = normal_lognormal.closed_form((mu0, sigma0, noise), [obs(amount, exposure=months)])
    assert got == pytest.approx(expected, abs=1e-12)


BETA_CASES = [
    ((8.0, 2.0), [obs(1)]),
    ((8.0, 2.0), [obs(0, r=0.29), obs(1, r=0.72), obs(3, trials=4, r=0.5)]),
    ((0.6, 0.9), [obs(17, trials=20, r=1.0), obs(0, trials=3, r=0.1)]),
]


@pytest.mark.parametrize(("params", "observations"), BETA_CASES)
def test_beta_binomial_closed_form_matches_quadrature(params, observations) -> None:
    exact = beta_bernoulli.closed_form(params, observations)
    assert exact == pytest.approx(by_quadrature(beta_bernoulli, params, observations),
                                  abs=TOL, rel=TOL)


def test_beta_binomial_closed_form_is_scipy_betabinom() -> None:
    a, b = 3.0, 1.5
    for k, n in ((0, 1), (1, 1), (3, 4), (10, 25)):
        got = beta_bernoulli.closed_form((a, b), [obs(k, trials=n)])
        assert got == pytest.approx(stats.betabinom.logpmf(k, n, a, b), abs=1e-12)


def nbinom_log_probability(low: float, high: float, n: float, p: float) -> float:
    """``log P(low <= Y <= high)`` for ``Y ~ NegBinomial(n, p)``, without cancellation."""
    if math.isinf(high):
        return float(stats.nbinom.logsf(low - 1, n, p))
    return float(special.logsumexp(stats.nbinom.logpmf(np.arange(low, high + 1), n, p)))


@pytest.mark.parametrize(
    ("low", "high"), [(200, 900), (1, 50), (0, 3), (11, math.inf), (1, math.inf), (0, 0),
                      (5, 5), (0, 20000)],
)
@pytest.mark.parametrize(("alpha", "beta", "t"), [(1.2, 0.0049, 13.0), (2.0, 0.5, 0.66),
                                                  (0.8, 2.0, 3.8)])
def test_censored_poisson_is_the_negative_binomial_probability(low, high, alpha, beta, t) -> None:
    expected = nbinom_log_probability(low, high, alpha, beta / (beta + t))
    got = log_marginal("count", (alpha, beta), [obs(low, high, exposure=t)])
    assert got == pytest.approx(expected, abs=1e-9, rel=1e-9)


def test_censored_poisson_mixed_with_points_matches_nested_quadrature() -> None:
    params = (1.5, 0.01)
    observations = [obs(200, 900, exposure=13.0), obs(40, exposure=2.0), obs(10, math.inf,
                                                                              exposure=0.1)]
    assert log_marginal("count", params, observations) == pytest.approx(
        by_quadrature(gamma_poisson, params, observations), abs=TOL, rel=TOL)


@pytest.mark.parametrize(("low", "high"), [(1.0, 5.0), (0.0, 2.0), (2.0, math.inf),
                                           (40.0, 60.0), (0.001, 0.002)])
def test_censored_normal_is_the_normal_probability(low: float, high: float) -> None:
    mu0, sigma0, noise, months = 0.1, 0.8, 0.35, 12.0
    scale = math.hypot(sigma0, noise)

    def cdf(amount: float) -> float:
        if amount <= 0:
            return 0.0
        if math.isinf(amount):
            return 1.0
        return stats.norm.cdf(math.log(amount) - math.log(months), mu0, scale)

    expected = math.log(cdf(high) - cdf(low))
    got = log_marginal("amount", (mu0, sigma0, noise), [obs(low, high, exposure=months)])
    assert got == pytest.approx(expected, abs=1e-9, rel=1e-9)


@pytest.mark.parametrize(
    ("low", "high", "level", "per"),
    [(100, 400, 0.9, 1.0), (0.05, 1.5, 0.9, 1.0), (0.01, 0.4, 0.9, 12.0), (1, 8, 0.8, 12.0),
     (15000, 150000, 0.9, 1.0), (0.005, 0.1, 0.95, 12.0), (99, 101, 0.5, 3.0)],
)
def test_gamma_prior_reproduces_the_interval(low, high, level, per) -> None:
    alpha, beta = gamma_poisson.prior_from_interval(low, high, level, per)
    q = [(1 - level) / 2, (1 + level) / 2]
    got = special.gammaincinv(alpha, q) / beta * per
    assert got == pytest.approx([low, high], rel=1e-6)


@pytest.mark.parametrize(
    ("low", "high", "level"),
    [(0.6, 0.95, 0.9), (0.8, 0.98, 0.9), (0.2, 0.6, 0.9), (0.55, 0.9, 0.9), (0.01, 0.05, 0.9),
     (0.3, 0.35, 0.8), (0.001, 0.999, 0.9)],
)
def test_beta_prior_reproduces_the_interval(low, high, level) -> None:
    a, b = beta_bernoulli.prior_from_interval(low, high, level)
    q = [(1 - level) / 2, (1 + level) / 2]
    assert special.betaincinv(a, b, q) == pytest.approx([low, high], rel=1e-6)


@pytest.mark.parametrize(("low", "high", "level", "per"),
                         [(0.5, 3, 0.9, 12.0), (2, 15, 0.9, 12.0), (0.1, 1.5, 0.8, 1.0)])
def test_lognormal_prior_reproduces_the_interval(low, high, level, per) -> None:
    mu0, sigma0, noise = normal_lognormal.prior_from_interval(low, high, level, per, 0.35)
    q = np.array([(1 - level) / 2, (1 + level) / 2])
    amounts = np.exp(mu0 + sigma0 * special.ndtri(q)) * per
    assert amounts == pytest.approx([low, high], rel=1e-6)
    assert noise == 0.35


def test_priors_given_as_distributions_convert_the_period() -> None:
    assert gamma_poisson.prior_from_distribution({"alpha": 2.0, "beta": 0.5}, 12.0) == (2.0, 6.0)
    mu0, sigma0, _ = normal_lognormal.prior_from_distribution({"mu": 0.3, "sigma": 0.6}, 12.0,
                                                              0.35)
    assert (mu0, sigma0) == pytest.approx((0.3 - math.log(12.0), 0.6))
    assert beta_bernoulli.prior_from_distribution({"a": 8, "b": 2}) == (8.0, 2.0)
    assert family_for("occurrence").name == family_for("count").name == "gamma_poisson"
    assert family_for("occurrence").events and not family_for("count").events


def test_sharp_posteriors_from_huge_counts() -> None:
    params = gamma_poisson.prior_from_interval(15000, 150000, 0.9, 1.0)
    t = 6.77
    point = [obs(300000, exposure=t)]
    closed = gamma_poisson.closed_form(params, point)
    assert closed == pytest.approx(by_quadrature(gamma_poisson, params, point), abs=TOL)
    alpha, beta = params
    p = beta / (beta + t)
    for low, high in ((299000, 301000), (300000, 300000), (300000, math.inf), (0, 299999)):
        expected = nbinom_log_probability(low, high, alpha, p)
        got = log_marginal("count", params, [obs(low, high, exposure=t)])
        assert got == pytest.approx(expected, abs=1e-8, rel=1e-8)
    # many items pile up: the posterior of u gets very sharp, closed form and quadrature agree
    many = [obs(300000, exposure=t, r=0.9) for _ in range(40)]
    assert gamma_poisson.closed_form(params, many) == pytest.approx(
        by_quadrature(gamma_poisson, params, many), abs=1e-7, rel=TOL)
    shares = [obs(290000, trials=300000, r=1.0)]
    assert beta_bernoulli.closed_form((8.0, 2.0), shares) == pytest.approx(
        by_quadrature(beta_bernoulli, (8.0, 2.0), shares), abs=1e-7, rel=TOL)


def test_zero_reliability_contributes_nothing() -> None:
    cases = [
        (gamma_poisson, (2.0, 0.5), obs(3, exposure=2.0), obs(50, exposure=1.0, r=0.0)),
        (beta_bernoulli, (3.0, 2.0), obs(1), obs(0, trials=5, r=0.0)),
        (normal_lognormal, (0.1, 0.5, 0.35), obs(2.0, exposure=3.0), obs(90.0, r=0.0)),
    ]
    for family, params, base, extra in cases:
        assert family.closed_form(params, [base, extra]) == pytest.approx(
            family.closed_form(params, [base]), abs=1e-14)


def poisson_log_probability(mean: float, low: float, high: float) -> float:
    """Reference ``log P(low <= Y <= high)``: the Poisson pmf summed in log space."""
    top = high if math.isfinite(high) else low + 20000 + 10 * mean
    y = np.arange(max(low, 0), top + 1)
    return float(special.logsumexp(stats.poisson.logpmf(y, mean)))


@pytest.mark.parametrize("mean", [1e-3, 0.5, 3.0, 40.0, 300.0, 2000.0, 9000.0, 50000.0])
@pytest.mark.parametrize(
    ("low", "high"),
    [(0, 0), (0, 5), (0, 1517), (1, math.inf), (11, math.inf), (1731, 2111), (469, 1026),
     (5, 5), (300, 100000), (1000, math.inf)],
)
def test_poisson_interval_probability_in_the_far_tails(mean, low, high) -> None:
    # values down to exp(-45000): far below the smallest double, so computed in log space
    got = gamma_poisson.log_interval_probability(np.array([mean]), low, high)[0]
    expected = poisson_log_probability(mean, low, high)
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_tempered_contradicted_range_keeps_its_tail() -> None:
    # '<=1 in 57 days' then '307-308 in one day' at reliability 0.25: the product of the
    # untempered probabilities underflows, the tempered integrand does not
    params = (20.0, 0.45)
    observations = [obs(0, 1, exposure=57 / 30.4375, r=0.25),
                    obs(307, 308, exposure=1 / 30.4375, r=0.25)]
    got = log_marginal("count", params, observations)
    u = np.linspace(-10.0, 12.0, 400_001)
    log_f = gamma_poisson.log_prior_u(u, params) + sum(
        o.reliability * gamma_poisson.log_lik_u(u, o, params) for o in observations)
    top = log_f.max()
    expected = top + math.log(np.trapezoid(np.exp(log_f - top), u))
    assert math.isfinite(got)
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("kind", ["amount", "count"])
def test_scatter_widens_a_total_and_works_on_batched_posteriors(kind: str) -> None:
    """A walk's scatter: amounts add it to the noise's variance, counts become negative
    binomial; batched rows (the exact engine's references) give each row's own value."""
    family = family_for(kind)
    params = (math.log(100.0), 1.0, 0.2) if kind == "amount" else (2.0, 0.02)
    obs = Observation("x", "i", 3.0, 200.0, 400.0, 1.0, scatter=0.05)
    u = np.linspace(3.0, 6.0, 7)
    if kind == "amount":
        noise = math.sqrt(0.2**2 + 0.05)
        want = np.log(stats.norm.cdf((math.log(400 / 3) - u) / noise)
                      - stats.norm.cdf((math.log(200 / 3) - u) / noise))
    else:
        size = 1 / math.expm1(0.05)
        p = size / (size + np.exp(u) * 3.0)
        want = np.log(stats.nbinom.cdf(400, size, p) - stats.nbinom.cdf(199, size, p))
    assert family.log_lik_u(u, obs, params) == pytest.approx(want, rel=1e-9)
    rows = np.stack([u, u + 0.5])
    columns = tuple(np.array([[p], [p]]) for p in params)
    batched = family.log_posterior_u(rows, columns, [obs], include=np.ones((2, 1), bool))
    for j in range(2):
        assert batched[j] == pytest.approx(family.log_posterior_u(rows[j], params, [obs]))


@pytest.mark.parametrize(("name", "params", "quantile"), [
    ("gamma_poisson", (2.5, 0.01), lambda q: np.log(stats.gamma.ppf(q, 2.5, scale=100.0))),
    ("normal_lognormal", (3.0, 0.7, 0.2), lambda q: stats.norm.ppf(q, 3.0, 0.7)),
    ("beta_bernoulli", (2.0, 5.0), lambda q: special.logit(stats.beta.ppf(q, 2.0, 5.0))),
])
def test_u_from_normal_is_the_priors_quantile_of_phi_z(name, params, quantile) -> None:
    """The sampler's whitening: ``u`` whose prior CDF is ``Phi(z)``, by SciPy's quantiles.

    The table covers the prior's bulk (past its 1e-9 quantiles at least): 4.5 sd of ``z``.
    """
    from toolkit.families import FAMILIES

    z = np.linspace(-4.5, 4.5, 2001)
    np.testing.assert_allclose(FAMILIES[name].u_from_normal(z, params),
                               quantile(special.ndtr(z)), atol=5e-3)
    middle = np.abs(z) < 3
    np.testing.assert_allclose(FAMILIES[name].u_from_normal(z[middle], params),
                               quantile(special.ndtr(z[middle])), atol=2e-5)
