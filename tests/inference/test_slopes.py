"""Wandering rates: the level-and-slope integral against a brute-force 2-D grid."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from toolkit.families import family_for
from toolkit.families.observation import DAYS_PER_MONTH, Observation
from toolkit.inference.engines.exact import prefix_log_marginals
from toolkit.inference.slopes import slope_posterior_nodes
from toolkit.model.case import load_case
from toolkit.model.trajectory import Z90, Drift, log_sinhc, months_since_epoch
from toolkit.outputs.forecast import run_forecast

REPO = Path(__file__).resolve().parents[2]
DRIFT = Drift(t0=months_since_epoch(dt.date(2024, 1, 1)), sigma=math.log(2) / Z90)


def _total(start: dt.date, end: dt.date, low: float, high: float, r: float = 1.0,
           mixture: bool = False, ref: float = math.nan) -> Observation:
    days = (end - start).days + 1
    return Observation("x", "c", days / DAYS_PER_MONTH, low, high, r, mixture=mixture,
                       log_ref=ref, start=months_since_epoch(start),
                       end=months_since_epoch(end + dt.timedelta(days=1)))


def _brute(params, observations, drift, n_s=1601, n_u=6001) -> float:
    """Plain trapezoid sums over (s, u); the rate of each period averaged by 400-point
    midpoint sums in time (independent of the closed-form offsets)."""
    family = family_for("count")
    s = np.linspace(-8 * drift.sigma, 8 * drift.sigma, n_s)
    u = np.linspace(-12.0, 12.0, n_u)
    total = np.asarray(family.log_prior_u(u[None, :], params), float) \
        + drift.log_prior(s)[:, None]
    for obs in observations:
        t = obs.start + (np.arange(400) + 0.5) / 400 * (obs.end - obs.start)
        mean_factor = np.exp(s[:, None] / 12 * (t[None, :] - drift.t0)
                             + drift.shape(t)[None, :]).mean(axis=1)
        total = total + family.item_log_lik(u[None, :] + np.log(mean_factor)[:, None], obs,
                                            params)
    peak = total.max()
    return float(np.log(np.trapezoid(np.trapezoid(np.exp(total - peak), u, axis=1), s))
                 + peak)


def test_offsets_average_the_rate_over_the_period() -> None:
    slopes = np.array([-1.0, 0.0, 0.7])
    start, end = DRIFT.t0 - 20, DRIFT.t0 + 4
    t = np.linspace(start, end, 200_001)
    numeric = np.log(np.trapezoid(np.exp(slopes[:, None] / 12 * (t - DRIFT.t0)), t, axis=1)
                     / (end - start))
    assert DRIFT.offsets(slopes, start, end) == pytest.approx(numeric, abs=1e-9)
    assert log_sinhc(np.array([0.0, 1e-6, 30.0, 800.0])) == pytest.approx(
        [0.0, 1e-12 / 6, 30 - math.log(60), 800 - math.log(1600)], abs=1e-9)


@pytest.mark.parametrize("censored", [False, True])
def test_level_and_slope_integral_matches_brute_force(censored: bool) -> None:
    params = (2.0, 0.1)  # about 20 a month
    rows = [(dt.date(2022, 1, 1), dt.date(2022, 6, 30), 40, 40),
            (dt.date(2023, 3, 1), dt.date(2023, 3, 31), 20, 20),
            (dt.date(2025, 1, 1), dt.date(2025, 12, 31), 300, 300)]
    observations = [_total(a, b, lo, (math.inf if censored and i == 0 else hi))
                    for i, (a, b, lo, hi) in enumerate(rows)]
    got, _ = prefix_log_marginals("count", params, observations, DRIFT)
    for m in range(len(observations)):
        assert got[m] == pytest.approx(_brute(params, observations[: m + 1], DRIFT), abs=2e-4)


def test_a_mixed_item_with_a_slope_matches_brute_force() -> None:
    params = (2.0, 0.1)
    observations = [_total(dt.date(2022, 1, 1), dt.date(2022, 12, 31), 100, 100),
                    _total(dt.date(2025, 1, 1), dt.date(2025, 3, 31), 5000, 5000, r=0.4,
                           mixture=True, ref=-9.0)]
    got, _ = prefix_log_marginals("count", params, observations, DRIFT)
    assert got[-1] == pytest.approx(_brute(params, observations, DRIFT), abs=2e-4)


def test_the_predictive_follows_the_trend() -> None:
    """Counts rising year on year: next year's rate is predicted above the average."""
    params = (2.0, 0.1)
    observations = [_total(dt.date(y, 1, 1), dt.date(y, 12, 31), 12 * 10 * 2 ** (y - 2022),
                           12 * 10 * 2 ** (y - 2022)) for y in (2022, 2023, 2024)]
    nodes, weights = slope_posterior_nodes(family_for("count"), params, observations, DRIFT,
                                           months_since_epoch(dt.date(2025, 1, 1)),
                                           months_since_epoch(dt.date(2026, 1, 1)))
    assert weights.sum() == pytest.approx(1.0)
    mean_rate = float(weights @ np.exp(nodes))
    assert 60 < mean_rate < 100  # 80 a month if the doubling goes on; 23 if it were flat


def test_wander_leaves_a_case_without_it_unchanged_and_runs_with_it() -> None:
    case = load_case(REPO, "russia-iran")
    assert all(case.drift(i, k) is None for i in case.used_indicators
               for k in case.priors.scenario_ids)
    text = (REPO / "priors" / "russia-iran.yaml").read_text(encoding="utf-8")
    wandering = load_case(REPO, "russia-iran", priors_text=text + "\nwander: 2\n")
    drift = wandering.drift("drone_supply", "transactional")
    assert drift is not None and drift.sigma == pytest.approx(math.log(2) / Z90)
    forecast = run_forecast(wandering, as_of=dt.date(2026, 12, 1))
    assert forecast.probabilities.sum() == pytest.approx(1.0)
    assert np.all(forecast.probabilities > 0)


#: A path (log centre up 1 by 2022, down 1.5 by 2026 relative to 2024) and the same with wander.
PATH = ((months_since_epoch(dt.date(2022, 1, 1)), 1.0), (DRIFT.t0, 0.0),
        (months_since_epoch(dt.date(2026, 1, 1)), -1.5))
ROWS = [(dt.date(2021, 7, 1), dt.date(2022, 6, 30), 400, 400),
        (dt.date(2023, 3, 1), dt.date(2023, 3, 31), 20, 20),
        (dt.date(2025, 1, 1), dt.date(2026, 6, 30), 90, 90)]


def test_a_path_alone_equals_the_closed_form_with_its_offsets_in_the_exposures() -> None:
    """A deterministic path multiplies each period's Poisson mean: exposures scale exactly."""
    params = (2.0, 0.1)
    drift = Drift(DRIFT.t0, 0.0, PATH)
    observations = [_total(a, b, lo, hi) for a, b, lo, hi in ROWS]
    got, _ = prefix_log_marginals("count", params, observations, drift)
    family = family_for("count")
    for m in range(len(observations)):
        scaled = [dataclasses.replace(o, exposure=o.exposure * math.exp(
            float(drift.offsets(np.zeros(1), o.start, o.end)[0]))) for o in observations[: m + 1]]
        assert got[m] == pytest.approx(family.closed_form(params, scaled), abs=1e-8)


def test_a_path_with_wander_matches_brute_force() -> None:
    params = (2.0, 0.1)
    drift = Drift(DRIFT.t0, DRIFT.sigma, PATH)
    observations = [_total(a, b, lo, hi) for a, b, lo, hi in ROWS]
    got, _ = prefix_log_marginals("count", params, observations, drift)
    assert got[-1] == pytest.approx(_brute(params, observations, drift), abs=2e-4)


def test_the_predictive_follows_the_path() -> None:
    """With no evidence, next year's mean rate is the prior mean times the path's factor."""
    params = (2.0, 0.1)  # prior mean 20 a month at t0
    drift = Drift(DRIFT.t0, 0.0, PATH)
    start, end = months_since_epoch(dt.date(2026, 1, 1)), months_since_epoch(dt.date(2027, 1, 1))
    nodes, weights = slope_posterior_nodes(family_for("count"), params, [], drift, start, end)
    assert float(weights @ np.exp(nodes)) == pytest.approx(20 * math.exp(-1.5), rel=1e-3)


def test_a_path_alone_keeps_a_posterior_pinned_by_many_events() -> None:
    """5,000 reliable logged events and a flat path: the predictive nodes must give the
    constant-rate posterior (Gamma(2 + n, 1 + T)); they held two nodes before."""
    params = (2.0, 1.0)
    rng = np.random.default_rng(0)
    observations, t = [], 0.0
    for i in range(5000):
        gap = float(rng.exponential(1 / 3.0))
        observations.append(Observation(f"e{i}", "x", gap, 1.0, 1.0, 1.0, reading="events",
                                        start=t, end=t + gap))
        t += gap
    drift = Drift(t / 2, 0.0, ((0.0, 0.0), (t, 0.0)))
    nodes, weights = slope_posterior_nodes(family_for("count"), params, observations, drift,
                                           t, t + 1.0)
    mean = float(weights @ nodes)
    sd = math.sqrt(float(weights @ (nodes - mean) ** 2))
    a, b = 2 + 5000, 1 + t
    assert mean == pytest.approx(special.digamma(a) - math.log(b), abs=1e-6)
    assert sd == pytest.approx(math.sqrt(special.polygamma(1, a)), rel=1e-3)


def test_a_long_trail_is_probed_once_and_stays_on_the_first_scale(monkeypatch) -> None:
    """300 wide prefixes: the probe of every 16th prefix happens once, then one full pass
    (before, the probe repeated and sent most prefixes to the 4x grid)."""
    import toolkit.inference.engines.exact as exact

    sizes = []
    original = exact._grid_prefixes

    def spy(family, params, observations, grid, todo, out, step, final=False, block=256):
        sizes.append((grid.size, len(todo)))
        return original(family, params, observations, grid, todo, out, step, final, block)

    monkeypatch.setattr(exact, "_grid_prefixes", spy)
    observations = [Observation(f"t{i}", "x", 1.0, 1.0, math.inf, 1.0) for i in range(300)]
    _, redone = exact.prefix_log_marginals("count", (2.0, 1.0), observations)
    assert redone == 0
    assert all(size == sizes[0][0] for size, _ in sizes)  # no finer grid
    assert sum(1 for _, todo in sizes if todo < 100) == 1  # one probe


def test_a_mixed_event_log_under_wander_matches_brute_force() -> None:
    """Logged events (some mixed) and closing quiet time under wander: the engine against a
    plain 2-D trapezoid with the quiet time's rate averaged by midpoint sums."""
    family = family_for("occurrence")
    params = (1.5, 3.0)
    rng = np.random.default_rng(3)
    observations, t = [], DRIFT.t0 - 50
    for i in range(40):
        gap, r = float(rng.exponential(2.0)), (1.0, 0.72, 0.55)[i % 3]
        observations.append(Observation(f"e{i}", "x", gap, 1.0, 1.0, r, reading="events",
                                        mixture=r < 1, log_ref=math.log(0.4) if r < 1
                                        else math.nan, start=t, end=t + gap))
        t += gap
    observations.append(Observation("q", "x", 5.0, 0.0, 0.0, 1.0, reading="quiet",
                                    start=t, end=t + 5.0))
    got, _ = prefix_log_marginals("occurrence", params, observations, DRIFT)
    s = np.linspace(-8 * DRIFT.sigma, 8 * DRIFT.sigma, 801)
    u = np.linspace(-12.0, 6.0, 8001)
    total = family.log_prior_u(u[None, :], params) + DRIFT.log_prior(s)[:, None]
    for obs in observations:
        times = obs.start + (np.arange(400) + 0.5) / 400 * (obs.end - obs.start)
        factor = np.exp(s[:, None] / 12 * (times[None, :] - DRIFT.t0)).mean(axis=1)
        total = total - np.exp(u[None, :]) * factor[:, None] * obs.exposure
        if obs.reading == "events":
            at = u[None, :] + (s / 12 * (obs.end - DRIFT.t0))[:, None]
            total = total + (at if obs.reliability >= 1 else np.logaddexp(
                math.log(obs.reliability) + at, math.log1p(-obs.reliability) + obs.log_ref))
    peak = total.max()
    brute = float(np.log(np.trapezoid(np.trapezoid(np.exp(total - peak), u, axis=1), s)) + peak)
    assert got[-1] == pytest.approx(brute, abs=1e-6)


WALK = Drift(t0=DRIFT.t0, sigma=0.0, walk=0.08)
WALK_ROWS = [(dt.date(2021, 7, 1), dt.date(2022, 6, 30), 400, 400),
             (dt.date(2023, 3, 1), dt.date(2023, 3, 31), 20, 20),
             (dt.date(2025, 1, 1), dt.date(2026, 6, 30), 300, math.inf)]


def test_a_walk_matches_an_explicit_integral_over_each_items_gamma_factor() -> None:
    """Level integrated with, per item, the rate's Gamma factor integrated explicitly
    (Poisson likelihoods on a grid of the factor's log): no negative-binomial formula."""
    family = family_for("count")
    params = (2.0, 0.1)
    observations = [_total(a, b, lo, hi) for a, b, lo, hi in WALK_ROWS]
    got, _ = prefix_log_marginals("count", params, observations, WALK)
    u = np.linspace(-1.0, 7.0, 3001)  # the posterior lies within 1 and 5
    total = np.asarray(family.log_prior_u(u, params), float)
    for obs in observations:
        size = 1 / math.expm1(WALK.scatter(obs.start, obs.end))
        z = np.linspace(-12 / math.sqrt(size), 6 / math.sqrt(size), 4001)  # log factor
        log_gamma = size * math.log(size) - special.gammaln(size) + size * z - size * np.exp(z)
        mean = np.exp(u[:, None] + z[None, :]) * obs.exposure
        with np.errstate(divide="ignore"):
            log_poisson = np.log(special.gammainc(obs.low, mean)) if math.isinf(obs.high) \
                else obs.low * np.log(mean) - mean - special.gammaln(obs.low + 1)
        inner = log_gamma[None, :] + log_poisson
        peak = inner.max(axis=1, keepdims=True)
        total = total + np.log(np.trapezoid(np.exp(inner - peak), z, axis=1)) + peak[:, 0]
    peak = total.max()
    brute = float(np.log(np.trapezoid(np.exp(total - peak), u)) + peak)
    assert got[-1] == pytest.approx(brute, abs=1e-5)


def test_wander_with_a_walk_matches_brute_force_with_scipys_negative_binomial() -> None:
    from scipy import stats

    both = dataclasses.replace(DRIFT, walk=0.08)
    params = (2.0, 0.1)
    observations = [_total(a, b, lo, hi) for a, b, lo, hi in WALK_ROWS]
    got, _ = prefix_log_marginals("count", params, observations, both)
    family = family_for("count")
    s = np.linspace(-8 * both.sigma, 8 * both.sigma, 801)
    u = np.linspace(-6.0, 10.0, 4001)
    total = np.asarray(family.log_prior_u(u[None, :], params), float) \
        + both.log_prior(s)[:, None]
    for obs in observations:
        t = obs.start + (np.arange(400) + 0.5) / 400 * (obs.end - obs.start)
        factor = np.exp(s[:, None] / 12 * (t[None, :] - both.t0)).mean(axis=1)
        mean = np.exp(u[None, :]) * factor[:, None] * obs.exposure
        size = 1 / math.expm1(both.scatter(obs.start, obs.end))
        p = size / (size + mean)
        total = total + (stats.nbinom.logsf(obs.low - 1, size, p) if math.isinf(obs.high)
                         else stats.nbinom.logpmf(obs.low, size, p))
    peak = total.max()
    brute = float(np.log(np.trapezoid(np.trapezoid(np.exp(total - peak), u, axis=1), s)) + peak)
    assert got[-1] == pytest.approx(brute, abs=2e-4)


def test_the_predictive_of_a_walking_rate_widens_with_the_walk_over_the_window() -> None:
    """With no evidence, the predictive of a future year is the prior mixed over the
    negative binomial of that year's scatter (a 1-D quadrature of scipy's NB CDF)."""
    from scipy import stats

    from toolkit.families.posterior import ParameterPosterior
    from toolkit.inference.posteriors import indicator_posteriors

    text = (REPO / "priors" / "russia-iran.yaml").read_text(encoding="utf-8")
    case = load_case(REPO, "russia-iran", priors_text=text + "\nwalk: 1.5\n")
    window = (dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    posts = indicator_posteriors(case, "drone_supply", [], window=window)
    post: ParameterPosterior = posts["transactional"]
    drift = case.drift("drone_supply", "transactional")
    scatter = drift.scatter(months_since_epoch(window[0]),
                            months_since_epoch(window[1] + dt.timedelta(days=1)))
    assert post.scatter == pytest.approx(scatter) and scatter > 0.02
    months = 365 / DAYS_PER_MONTH
    alpha, beta = case.prior_params("drone_supply", "transactional")
    u = np.linspace(-10.0, 12.0, 20001)
    prior = np.exp(family_for("count").log_prior_u(u, (alpha, beta)))
    size = 1 / math.expm1(scatter)
    for x in (100.0, 1000.0, 5000.0):
        mean = np.exp(u) * months
        want = np.trapezoid(prior * stats.nbinom.cdf(x, size, size / (size + mean)), u) \
            / np.trapezoid(prior, u)
        got = float(family_for("count").cdf(post, np.array([x]), months, None)[0])
        assert got == pytest.approx(want, abs=1e-6)
    plain = indicator_posteriors(load_case(REPO, "russia-iran"), "drone_supply", [],
                                 window=window)["transactional"]
    wide = family_for("count").interval_probability(post, 0, 100, months, None)
    narrow = family_for("count").interval_probability(plain, 0, 100, months, None)
    assert wide > narrow  # more mass in the low tail once the walk scatters the year


@pytest.mark.parametrize(("drift", "low", "high"), [
    (DRIFT, 30_000, 30_000),  # far out in the tail: the case the reference got wrong
    (DRIFT, 400, math.inf),
    (dataclasses.replace(DRIFT, walk=0.08), 2_000, 2_000),
    (Drift(t0=DRIFT.t0, sigma=0.0, path=((DRIFT.t0, 0.0), (DRIFT.t0 + 36, 1.5))), 900, 900),
])
def test_one_item_alone_matches_the_level_and_slope_brute_force(drift, low, high) -> None:
    """The 1-D reduction (``v = u + offset(s)``) equals the 2-D integral over ``(s, u)``."""
    from toolkit.inference.slopes import single_log_marginal

    params = (2.0, 0.1)
    obs = _total(dt.date(2026, 1, 1), dt.date(2026, 3, 31), low, high)
    got = single_log_marginal(family_for("count"), params, obs, drift)
    if drift.walk:
        assert got == pytest.approx(prefix_log_marginals("count", params, [obs], drift)[0][0],
                                    abs=1e-5)
        return
    if not drift.wanders:  # one slope: the brute force's slope grid is a single point
        family = family_for("count")
        u = np.linspace(-12.0, 14.0, 200_001)
        t = obs.start + (np.arange(400) + 0.5) / 400 * (obs.end - obs.start)
        shift = float(np.log(np.exp(drift.shape(t)).mean()))
        total = np.asarray(family.log_prior_u(u, params), float) \
            + family.item_log_lik(u + shift, obs, params)
        peak = total.max()
        brute = float(np.log(np.trapezoid(np.exp(total - peak), u)) + peak)
    else:
        brute = _brute(params, [obs], drift, n_s=401, n_u=12001)
    assert got == pytest.approx(brute, abs=1e-5)


def test_one_logged_event_alone_has_the_closed_form_of_a_shifted_gamma() -> None:
    """An event's density at time t under a slope: E[rate] e^{g} e^{c^2 sigma^2 / 2}."""
    from toolkit.inference.slopes import single_log_marginal

    alpha, beta = 2.0, 0.1
    day = months_since_epoch(dt.date(2026, 6, 1))
    event = Observation("x", "c", 0.0, 1.0, 1.0, 1.0, reading="events", start=day, end=day)
    c = (day - DRIFT.t0) / 12
    exact = math.log(alpha / beta) + (c * DRIFT.sigma) ** 2 / 2
    got = single_log_marginal(family_for("count"), (alpha, beta), event, DRIFT)
    assert got == pytest.approx(exact, abs=1e-8)


def test_windowed_level_passes_agree_with_passes_over_the_whole_bracket(monkeypatch) -> None:
    """Once patches stop helping, finer passes cover only where the integrands are."""
    import toolkit.inference.slopes as slopes

    rng = np.random.default_rng(5)
    observations, t = [], DRIFT.t0 - 60
    for i in range(150):
        gap, r = float(rng.exponential(0.4)), (1.0, 0.72)[i % 2]
        observations.append(Observation(f"e{i}", "x", gap, 1.0, 1.0, r, reading="events",
                                        mixture=r < 1, log_ref=math.log(0.4) if r < 1
                                        else math.nan, start=t, end=t + gap))
        t += gap
    monkeypatch.setattr(slopes, "_add_bulks", lambda *args: None)  # no patches at all
    windows = []
    level_pass = slopes._level_pass

    def spy(*args):
        windows.append(args[8] is not None)
        return level_pass(*args)

    monkeypatch.setattr(slopes, "_level_pass", spy)
    windowed, _ = prefix_log_marginals("occurrence", (1.5, 3.0), observations, DRIFT)
    assert any(windows)
    monkeypatch.setattr(slopes, "WINDOW_DROP", math.inf)  # every window is the whole row
    whole, _ = prefix_log_marginals("occurrence", (1.5, 3.0), observations, DRIFT)
    assert windowed == pytest.approx(whole, abs=3e-6)
