"""Sequential Monte Carlo over the evidence against exact answers and brute-force simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from toolkit.families import FAMILIES
from toolkit.families.observation import Observation
from toolkit.inference.engines.exact import prefix_log_marginals
from toolkit.inference.smc.paths import PathDesign
from toolkit.inference.smc.sampler import fit_slot
from toolkit.model.trajectory import Drift

COUNTS = FAMILIES["gamma_poisson"]


def _total(value: float, start: float, end: float, r: float = 1.0, mixture: bool = False,
           log_ref: float = 0.0, high: float | None = None) -> Observation:
    return Observation("i", "x", end - start, value, value if high is None else high, r,
                       mixture=mixture, log_ref=log_ref, start=start, end=end)


def _fit(params, drift, observations, particles=2000, seed=1):
    design = PathDesign.for_observations(drift, observations)
    return fit_slot(COUNTS, params, design, observations, particles, 4,
                    np.random.default_rng(seed))


def _agrees(fit, exact, slack=0.01):
    # a marginal's error is a few MCSE at most (4 chains of independent clouds)
    tolerance = 4 * max(fit.mcse, 0.005) + slack
    np.testing.assert_allclose(fit.cumulative, exact, atol=tolerance)


def test_exact_counts_match_the_closed_form_prefix_by_prefix():
    obs = [_total(12, 300, 303), _total(30, 303, 309, r=0.8), _total(2, 309, 310)]
    fit = _fit((2.0, 0.5), None, obs)
    exact, _ = prefix_log_marginals("count", (2.0, 0.5), obs)
    _agrees(fit, exact)
    assert fit.mcse < 0.02 and fit.levels.shape == (4, 2000)
    again = _fit((2.0, 0.5), None, obs)  # same seed, same numbers
    np.testing.assert_array_equal(again.cumulative, fit.cumulative)


def test_a_report_that_may_be_false_finds_its_narrow_spike():
    """300,000 shells, B2: a spike 1/550 wide beside the plateau of a false report.

    Tempering alone misses it (no prior draw lands in it: -0.39 nats before the branches).
    """
    obs = [_total(300000, 272.99, 279.75, r=0.7225, mixture=True, log_ref=-13.828)]
    params = (0.8405, 8.93e-5)
    fit = _fit(params, None, obs)
    exact, _ = prefix_log_marginals("count", params, obs)
    _agrees(fit, exact)
    # both branches are in the posterior: some draws sit at the reported rate, most not
    rate = np.exp(fit.levels.ravel())
    at_spike = np.abs(np.log(rate * 6.76 / 300000)) < 0.01
    assert 0.01 < at_spike.mean() < 0.5


def test_a_wandering_rate_with_a_censored_total_and_a_path():
    drift = Drift(t0=300.0, sigma=math.log(2) / 1.645, path=((270.0, 0.5), (320.0, -0.5)))
    obs = [_total(40, 270, 282), _total(10, 300, 306, high=25), _total(0, 318, 320)]
    fit = _fit((3.0, 1.0), drift, obs)
    exact, _ = prefix_log_marginals("count", (3.0, 1.0), obs, drift)
    _agrees(fit, exact)


def test_logged_events_and_quiet_time_of_a_watched_indicator_under_wander():
    drift = Drift(t0=300.0, sigma=math.log(3) / 1.645)
    obs = [Observation("e", "x", t - s, 1, 1, r, reading="events", mixture=True,
                       log_ref=lr, start=s, end=t)
           for s, t, r, lr in ((280, 284, 0.9, -0.3), (284, 290.5, 0.5, -0.2),
                               (290.5, 291, 1.0, 0.0))]
    obs.append(Observation("", "x", 8.0, 0, 0, 1.0, reading="quiet", start=291, end=299))
    fit = _fit((2.0, 4.0), drift, obs)
    exact, _ = prefix_log_marginals("count", (2.0, 4.0), obs, drift)
    _agrees(fit, exact)


def _brute_force_walk(params, drift, design, observations, samples, rng):
    """Plain Monte Carlo from the prior: the likelihood of every draw of the path, averaged.

    Each period's mean rate comes from the trapezoid rule on a fine grid of the walk
    (independent of the sampler's piecewise formula); chunks give the standard error.
    """
    values = []
    grids = [np.linspace(o.start, o.end, 401) for o in observations]
    rows = [design.walk_rows(t).T for t in grids]
    for _ in range(20):
        z = rng.standard_normal((samples // 20, design.dims))
        u = np.log(rng.gamma(params[0], 1 / params[1], samples // 20))
        ll = np.zeros(z.shape[0])
        for o, t, row in zip(observations, grids, rows, strict=True):
            walk = z[:, design.walk_from:] @ row
            mean = np.trapezoid(np.exp(walk), t, axis=1) / (o.end - o.start)
            lam = np.exp(u) * mean * o.exposure
            ll += o.low * np.log(lam) - lam - special.gammaln(o.low + 1)
        values.append(special.logsumexp(ll) - math.log(ll.size))
    values = np.array(values)
    return special.logsumexp(values) - math.log(values.size), values.std(ddof=1) / math.sqrt(20)


@pytest.mark.slow
def test_a_walk_shared_by_items_close_in_time_matches_brute_force():
    """The path makes neighbouring totals move together; the exact engine's scatter cannot.

    Two big counts a month apart disagree with each other (40 then 80 a month): a walk of
    30% a month explains them far better when it is one path than as independent scatter.
    """
    drift = Drift(t0=300.0, sigma=0.0, walk=0.3)
    obs = [_total(40, 298, 299), _total(80, 299, 300), _total(60, 300, 301)]
    design = PathDesign.for_observations(drift, obs)
    fit = _fit((4.0, 0.08), drift, obs, particles=4000)
    truth, error = _brute_force_walk((4.0, 0.08), drift, design, obs, 600_000,
                                     np.random.default_rng(7))
    assert error < 0.02
    assert abs(fit.cumulative[-1] - truth) < 4 * math.hypot(fit.mcse, error) + 0.01
    scatter, _ = prefix_log_marginals("count", (4.0, 0.08), obs, drift)
    assert abs(scatter[-1] - truth) > 0.2  # the exact engine's reading is another model
