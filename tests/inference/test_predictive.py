"""Posterior predictives: closed forms against Monte Carlo and quadrature; PyMC draws path."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from toolkit.families.observation import Observation
from toolkit.inference.engines.exact import log_marginal
from toolkit.inference.posteriors import (
    from_draws,
    indicator_posteriors,
    parameter_posterior,
    sample_parameter,
)
from toolkit.inference.predictive import (
    Observed,
    cdf,
    forecast_questions,
    interval_probability,
    observed_in_window,
    question_probability,
)
from toolkit.model.case import load_case
from toolkit.model.questions import load_questions
from toolkit.outputs.forecast import run_forecast

REPO = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2023, 7, 1)
RNG_SEED = sum(map(ord, "predictive"))


def obs(indicator, exposure, low, high, r=1.0, trials=1):
    return Observation("x", indicator, exposure, low, high, r, trials)


COUNT_OBS = [obs("c", 2.0, 14, 14, 0.8), obs("c", 1.0, 3, 3, 0.5)]
AMOUNT_OBS = [obs("a", 12.0, 2.76, 2.76, 0.72), obs("a", 6.0, 1.1, 1.1, 0.4)]
SIGNAL_OBS = [obs("s", 1.0, 1, 1, 0.7), obs("s", 1.0, 2, 2, 1.0, trials=5)]


def test_negative_binomial_against_monte_carlo_and_quadrature():
    prior = (2.0, 0.5)
    post = parameter_posterior("count", prior, COUNT_OBS)
    assert post.method == "closed form"
    a, b = post.conjugate
    assert (a, b) == pytest.approx((2 + 0.8 * 14 + 0.5 * 3, 0.5 + 0.8 * 2 + 0.5 * 1))
    grid = parameter_posterior("count", prior, COUNT_OBS, method="quadrature")
    rng = np.random.default_rng(RNG_SEED)
    totals = rng.poisson(rng.gamma(a, 1 / b, 400_000) * 4.5)
    for low, high in [(1, math.inf), (20, 40), (0, 15), (30, 30), (60, math.inf)]:
        exact = interval_probability(post, low, high, 4.5)
        mc = np.mean((totals >= low) & (totals <= high))
        assert exact == pytest.approx(mc, abs=0.004)
        assert interval_probability(grid, low, high, 4.5) == pytest.approx(exact, abs=1e-9)
    # the pmf sums to one and matches the textbook formula at one point
    y = 21
    p = b / (b + 4.5)
    textbook = math.exp(math.lgamma(y + a) - math.lgamma(a) - math.lgamma(y + 1)
                        + a * math.log(p) + y * math.log1p(-p))
    assert interval_probability(post, y, y, 4.5) == pytest.approx(textbook, rel=1e-10)


def test_lognormal_against_monte_carlo_and_quadrature():
    prior = (math.log(0.2), 1.0, 0.35)
    post = parameter_posterior("amount", prior, AMOUNT_OBS)
    mu, sigma, noise = post.conjugate
    precision = 1 / 1.0**2 + (0.72 + 0.4) / 0.35**2
    linear = math.log(0.2) + (0.72 * math.log(2.76 / 12) + 0.4 * math.log(1.1 / 6)) / 0.35**2
    assert mu == pytest.approx(linear / precision)
    assert sigma == pytest.approx(precision**-0.5)
    grid = parameter_posterior("amount", prior, AMOUNT_OBS, method="quadrature")
    rng = np.random.default_rng(RNG_SEED)
    reported = np.exp(rng.normal(mu, sigma, 400_000) + math.log(12) + rng.normal(0, noise,
                                                                                  400_000))
    for low, high in [(1.0, math.inf), (0.0, 2.0), (2.0, 4.0), (5.0, math.inf)]:
        exact = interval_probability(post, low, high, 12.0)
        assert exact == pytest.approx(np.mean((reported >= low) & (reported <= high)), abs=0.004)
        assert interval_probability(grid, low, high, 12.0) == pytest.approx(exact, abs=1e-9)


def test_beta_binomial_against_monte_carlo_and_quadrature():
    prior = (3.0, 2.0)
    post = parameter_posterior("signal", prior, SIGNAL_OBS)
    assert post.conjugate == pytest.approx((3 + 0.7 + 2, 2 + 3))
    grid = parameter_posterior("signal", prior, SIGNAL_OBS, method="quadrature")
    rng = np.random.default_rng(RNG_SEED)
    k = rng.binomial(6, rng.beta(*post.conjugate, 400_000))
    for low, high in [(0, 0), (3, 6), (6, 6), (1, 4)]:
        exact = interval_probability(post, low, high, 1.0, signals=6)
        assert exact == pytest.approx(np.mean((k >= low) & (k <= high)), abs=0.004)
        assert interval_probability(grid, low, high, 1.0, signals=6) == pytest.approx(
            exact, abs=1e-9)


@pytest.mark.parametrize(("kind", "prior", "observations", "bounds"), [
    ("count", (1.5, 0.02), [obs("c", 0.66, 200, math.inf, 0.42), obs("c", 3.8, 1, 50, 0.2)],
     [(1, math.inf), (100, 400), (0, 50)]),
    ("occurrence", (0.8, 6.0), [obs("o", 9.5, 1, math.inf, 0.42), obs("o", 18.0, 0, 0, 0.7)],
     [(1, math.inf), (0, 0), (2, 3)]),
    ("amount", (-1.0, 1.2, 0.35), [obs("a", 12.0, 2.76, 2.76, 0.7), obs("a", 6.0, 0.5, 3, 0.5)],
     [(1.0, math.inf), (0.0, 0.5), (0.8, 2.5)]),
])
def test_censored_posterior_against_marginal_likelihood_ratio(kind, prior, observations, bounds):
    """P(Y in A | E) = m(E and Y in A) / m(E): an independent adaptive quadrature."""
    post = parameter_posterior(kind, prior, observations)
    assert post.method == "quadrature"
    base = log_marginal(kind, prior, observations)
    for low, high in bounds:
        target = obs("q", 5.0, low, high)
        ratio = math.exp(log_marginal(kind, prior, [*observations, target]) - base)
        assert interval_probability(post, low, high, 5.0) == pytest.approx(ratio, abs=1e-7)


def test_closed_form_and_grid_agree_on_bundled_case(bundled_case):
    items, _ = bundled_case.select(AS_OF)  # tempered reading: exact items stay conjugate
    observations = [dataclasses.replace(o, mixture=False)
                    for o in bundled_case.observations(items)]
    checked = 0
    for indicator in bundled_case.used_indicators:
        kind = bundled_case.indicators[indicator].kind
        own = [o for o in observations if o.indicator == indicator]
        if not all(o.conjugate for o in own):
            continue
        for scenario in bundled_case.priors.scenario_ids:
            prior = bundled_case.prior_params(indicator, scenario)
            closed = parameter_posterior(kind, prior, own)
            grid = parameter_posterior(kind, prior, own, method="quadrature")
            x = np.array([0.0, 1.0, 2.0]) if kind == "signal" else np.array([0.5, 3.0, 4e5])
            np.testing.assert_allclose(cdf(closed, x, 3.0, 3), cdf(grid, x, 3.0, 3), atol=1e-8)
            checked += 1
    assert checked >= 12


def test_question_probability_mixes_scenarios(bundled_case):
    questions = load_questions(bundled_case)
    forecast = run_forecast(bundled_case, as_of=AS_OF)
    results = forecast_questions(bundled_case, questions, forecast)
    assert list(results) == [q.id for q in questions.questions]
    for q in questions.questions:
        r = results[q.id]
        mixed = sum(w * r.by_scenario[s]
                    for w, s in zip(forecast.probabilities, forecast.scenario_ids, strict=True))
        assert r.probability == pytest.approx(mixed, abs=1e-12)
        assert 0 <= r.probability <= 1
    # a stronger scenario predicts more advanced-arms events: ordered by the priors
    arms = results["adv_arms_2024"].by_scenario
    assert arms["defense_partnership"] > arms["transactional"] > arms["drift"]
    # the prior alone is the same computation with the prior weights and no evidence
    prior = forecast_questions(bundled_case, questions, None)
    assert prior["adv_arms_2024"].probability == pytest.approx(0.6457577, abs=1e-6)
    # with evidence: one 'yes' (E11, reliability r) under the mixture reading is closed form
    # with Gamma Laplace transforms L(s) = (beta / (beta + s)) ** alpha
    (e11,) = [o for o in bundled_case.observations(forecast.items)
              if o.indicator == "advanced_arms_to_iran"]
    months = next(q for q in questions.questions if q.id == "adv_arms_2024").window.months
    t, r = e11.exposure, e11.reliability
    params = [bundled_case.prior_params("advanced_arms_to_iran", k)
              for k in bundled_case.priors.scenario_ids]

    def laplace(a: float, b: float, s: float) -> float:
        return (b / (b + s)) ** a

    from scipy import integrate

    from toolkit.inference.reference import BROAD, BROAD_REACH

    family = bundled_case.indicators["advanced_arms_to_iran"].family
    lo = min(family.bracket(p, [])[0] for p in params) - BROAD_REACH
    hi = max(family.bracket(p, [])[1] for p in params) + BROAD_REACH
    broad = integrate.quad(lambda u: -math.expm1(-math.exp(u) * t), lo, hi, limit=200,
                           epsabs=1e-13)[0] / (hi - lo)  # P(yes) under a log-uniform rate
    ref = (1 - BROAD) * float(np.mean([1 - laplace(a, b, t) for a, b in params])) \
        + BROAD * broad
    expected = 0.0
    for p_k, (a, b) in zip(forecast.probabilities, params, strict=True):
        evidence = r * (1 - laplace(a, b, t)) + (1 - r) * ref
        none_in_window = (r * (laplace(a, b, months) - laplace(a, b, months + t))
                          + (1 - r) * ref * laplace(a, b, months))
        expected += p_k * (1 - none_in_window / evidence)
    assert results["adv_arms_2024"].probability == pytest.approx(expected, abs=1e-6)


def draws_forecast(case, forecast, size, seed):
    """A forecast carrying draws from the exact posterior, shaped like the PyMC engine's."""
    rng = np.random.default_rng(seed)
    observations = case.observations(forecast.items)
    draws = {}
    for indicator in case.used_indicators:
        for scenario, post in indicator_posteriors(case, indicator, observations).items():
            draws[(indicator, scenario)] = sample_parameter(post, size, rng)
    forecast.engine = "pymc"
    forecast.extras = {"parameter_draws": draws}
    return forecast


def test_pymc_path_with_exact_posterior_draws_agrees(bundled_case):
    questions = load_questions(bundled_case)
    exact = forecast_questions(bundled_case, questions, run_forecast(bundled_case, as_of=AS_OF))
    sampled = draws_forecast(bundled_case, run_forecast(bundled_case, as_of=AS_OF), 4000, 7)
    from_pymc = forecast_questions(bundled_case, questions, sampled)
    for qid, result in exact.items():
        assert from_pymc[qid].method == "draws"
        assert from_pymc[qid].probability == pytest.approx(result.probability, abs=0.02)
        for scenario, p in result.by_scenario.items():
            assert from_pymc[qid].by_scenario[scenario] == pytest.approx(p, abs=0.03)


def test_draws_missing_for_an_observed_indicator_is_an_error(bundled_case):
    questions = load_questions(bundled_case)
    forecast = run_forecast(bundled_case, as_of=AS_OF)
    forecast.engine = "pymc"
    forecast.extras = {"parameter_draws": {}}
    with pytest.raises(KeyError, match="no parameter draws"):
        forecast_questions(bundled_case, questions, forecast)


def test_dispersion_reduces_to_poisson_and_matches_monte_carlo():
    rates = np.random.default_rng(3).gamma(4.0, 5.0, 3000)
    poisson = from_draws("count", (4.0, 0.2), rates)
    tiny = from_draws("count", (4.0, 0.2), rates, dispersion=1e-9)
    for low, high in [(1, math.inf), (50, 80), (0, 40)]:
        assert interval_probability(tiny, low, high, 3.0) == pytest.approx(
            interval_probability(poisson, low, high, 3.0), abs=1e-6)
    wide = from_draws("count", (4.0, 0.2), rates[:500], dispersion=0.5)
    rng = np.random.default_rng(4)
    mean = np.repeat(rates[:500], 400) * 3.0
    totals = rng.poisson(rng.gamma(2.0, mean / 2.0))  # NB(mean, var = mean + 0.5 mean^2)
    for low, high in [(1, math.inf), (50, 80), (0, 40)]:
        assert interval_probability(wide, low, high, 3.0) == pytest.approx(
            np.mean((totals >= low) & (totals <= high)), abs=0.005)
    np.testing.assert_allclose(cdf(wide, np.array([40.0]), 3.0),
                               [interval_probability(wide, 0, 40, 3.0)], atol=1e-12)


@pytest.fixture(scope="module")
def pymc_forecast(tempered_bundled_case):
    return run_forecast(tempered_bundled_case, engine="pymc", as_of=AS_OF, seed=1)


@pytest.mark.slow
def test_pymc_engine_question_probabilities_agree_with_exact(tempered_bundled_case,
                                                              pymc_forecast):
    case = tempered_bundled_case  # the reading the PyMC engine can run
    questions = load_questions(case)
    exact = forecast_questions(case, questions, run_forecast(case, as_of=AS_OF))
    sampled = forecast_questions(case, questions, pymc_forecast)
    assert pymc_forecast.converged
    for qid, result in exact.items():
        assert sampled[qid].method == "draws"
        assert sampled[qid].probability == pytest.approx(result.probability, abs=0.02), qid


def _with_questions(root):
    (root / "questions").mkdir(exist_ok=True)
    shutil.copy(REPO / "questions" / "russia-iran.yaml", root / "questions")
    return root


def test_a_question_conditions_on_what_reliable_evidence_already_shows(case_root):
    """A reliable 'yes' inside the window settles 'at least one' (it read 60% before)."""
    _with_questions(case_root)
    path = case_root / "evidence" / "russia-iran.csv"
    path.write_text(path.read_text(encoding="utf-8")
                    + "Q1,2024-03-02,2024-03-01,2024-03-01,advanced_arms_to_iran,yes,events,"
                      "G09,A1,active,\n", encoding="utf-8")
    case = load_case(case_root, "russia-iran")
    questions = load_questions(case)
    forecast = run_forecast(case, as_of=dt.date(2024, 6, 1))
    result = forecast_questions(case, questions, forecast)["adv_arms_2024"]
    assert result.settled and result.probability == 1.0 and result.observed == ("Q1",)
    # graded below A1 it only informs the rate
    path.write_text(path.read_text(encoding="utf-8").replace(",G09,A1,active,\n",
                                                             ",G09,B2,active,\n"),
                    encoding="utf-8")
    case = load_case(case_root, "russia-iran")
    forecast = run_forecast(case, as_of=dt.date(2024, 6, 1))
    result = forecast_questions(case, load_questions(case), forecast)["adv_arms_2024"]
    assert not result.settled and result.probability < 1.0


def test_an_exact_reliable_count_leaves_only_the_rest_of_the_window(case_root):
    """None observed in one month of the window (exactly): the rest is predicted."""
    _with_questions(case_root)
    case = load_case(case_root, "russia-iran")
    questions = load_questions(case)
    question = next(q for q in questions.questions if q.indicator == "sanctions_pressure")
    condition = questions.condition(question)
    forecast = run_forecast(case, as_of=dt.date(2024, 1, 1))
    posts = indicator_posteriors(case, question.indicator,
                                 case.observations(forecast.items, forecast.as_of))
    observed = Observed(0.0, 0.0, 1.0, ("X",))
    got = question_probability(question, condition, forecast.probabilities, posts, observed)
    rest = question.window.months - 1.0
    expected = sum(p * interval_probability(post, condition.low, condition.high, rest)
                   for p, post in zip(forecast.probabilities, posts.values(), strict=True))
    assert got.probability == pytest.approx(expected, abs=1e-12)
    assert not got.settled and got.observed == ("X",)
    whole = forecast_questions(case, questions, forecast)[question.id].probability
    assert got.probability < whole  # a quiet month leaves less time for the event


def test_the_quiet_watched_part_of_a_window_is_observed_not_predicted(case_root):
    """A watched indicator with nothing logged in the window so far: only the rest of the
    window is predicted; a doubtful logged event keeps the whole window predicted."""
    _with_questions(case_root)
    priors = case_root / "priors" / "russia-iran.yaml"
    priors.write_text(priors.read_text(encoding="utf-8")
                      + "\nwatch:\n  advanced_arms_to_iran: since 2023-01-01\n",
                      encoding="utf-8")
    case = load_case(case_root, "russia-iran")
    questions = load_questions(case)
    question = next(q for q in questions.questions if q.id == "adv_arms_2024")
    as_of = dt.date(2024, 6, 30)
    forecast = run_forecast(case, as_of=as_of)
    assert not any(case.is_logged_event(i) and i.period_start >= question.window.start
                   for i in forecast.items if i.indicator == question.indicator)
    observed = observed_in_window(case, question, forecast.items, as_of)
    quiet = ((as_of - question.window.start).days + 1) / 30.4375
    assert observed == Observed(0.0, 0.0, pytest.approx(quiet, abs=1e-12), ())
    posts = indicator_posteriors(case, question.indicator,
                                 case.observations(forecast.items, forecast.as_of),
                                 window=(question.window.start, question.window.end))
    expected = sum(p * interval_probability(post, 1.0, math.inf, question.window.months - quiet)
                   for p, post in zip(forecast.probabilities, posts.values(), strict=True))
    got = forecast_questions(case, questions, forecast)["adv_arms_2024"]
    assert got.probability == pytest.approx(expected, abs=1e-12)
    whole = sum(p * interval_probability(post, 1.0, math.inf, question.window.months)
                for p, post in zip(forecast.probabilities, posts.values(), strict=True))
    assert got.probability < whole
    # a B2 event logged in the window may or may not have happened: nothing is observed
    path = case_root / "evidence" / "russia-iran.csv"
    path.write_text(path.read_text(encoding="utf-8")
                    + "Q1,2024-03-02,2024-03-01,2024-03-01,advanced_arms_to_iran,yes,events,"
                      "G09,B2,active,\n", encoding="utf-8")
    case = load_case(case_root, "russia-iran")
    forecast = run_forecast(case, as_of=as_of)
    assert observed_in_window(case, question, forecast.items, as_of) is None


def test_a_logged_yes_counts_as_one_event_of_the_watched_window(case_root):
    """'yes' reads as 'at least one' (1, inf), but a logged event is exactly one: the
    watched time must still count as observed."""
    _with_questions(case_root)
    priors = case_root / "priors" / "russia-iran.yaml"
    priors.write_text(priors.read_text(encoding="utf-8")
                      + "\nwatch:\n  advanced_arms_to_iran: since 2023-01-01\n",
                      encoding="utf-8")
    path = case_root / "evidence" / "russia-iran.csv"
    path.write_text(path.read_text(encoding="utf-8")
                    + "Q1,2024-03-02,2024-03-01,2024-03-01,advanced_arms_to_iran,yes,events,"
                      "G09,A1,active,\n", encoding="utf-8")
    case = load_case(case_root, "russia-iran")
    question = next(q for q in load_questions(case).questions if q.id == "adv_arms_2024")
    as_of = dt.date(2024, 6, 30)
    forecast = run_forecast(case, as_of=as_of)
    observed = observed_in_window(case, question, forecast.items, as_of)
    quiet = ((as_of - question.window.start).days + 1) / 30.4375
    assert observed == Observed(1.0, 1.0, pytest.approx(quiet, abs=1e-12), ("Q1",))
