"""Credible intervals of scenario probabilities from prior-weight uncertainty."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from toolkit.inference.engines import get_engine
from toolkit.model.case import Case
from toolkit.outputs.forecast import assemble, run_forecast
from toolkit.outputs.intervals import weight_draws, weight_intervals

WEIGHTS = np.array([0.25, 0.5, 0.25])
LOG_MARGINAL = np.array([-40.2, -38.1, -47.5])


def point(weights: np.ndarray, log_marginal: np.ndarray) -> np.ndarray:
    log_post = np.log(weights) + log_marginal
    post = np.exp(log_post - log_post.max())
    return post / post.sum()


@pytest.mark.parametrize("concentration", [0.5, 3.0, 10.0, 200.0])
def test_mean_of_draws_is_the_point_probability(concentration: float) -> None:
    draws = weight_draws(WEIGHTS, LOG_MARGINAL, concentration, seed=7, draws=50_000)
    expected = point(WEIGHTS, LOG_MARGINAL)
    standard_error = draws.std(axis=0) / np.sqrt(draws.shape[0])
    assert np.all(np.abs(draws.mean(axis=0) - expected) < 5 * standard_error + 1e-12)
    assert draws.sum(axis=1) == pytest.approx(np.ones(draws.shape[0]), abs=1e-12)


def test_interval_contains_the_point_and_is_reproducible() -> None:
    expected = point(WEIGHTS, LOG_MARGINAL)
    first = weight_intervals(WEIGHTS, LOG_MARGINAL, 10.0, level=0.9, seed=3)
    again = weight_intervals(WEIGHTS, LOG_MARGINAL, 10.0, level=0.9, seed=3)
    assert np.array_equal(first, again)
    assert np.all(first[:, 0] <= expected) and np.all(expected <= first[:, 1])
    assert np.all((0 <= first) & (first <= 1))
    wider = weight_intervals(WEIGHTS, LOG_MARGINAL, 10.0, level=0.99, seed=3)
    assert np.all(wider[:, 0] <= first[:, 0]) and np.all(first[:, 1] <= wider[:, 1])


def test_huge_concentration_collapses_the_interval() -> None:
    expected = point(WEIGHTS, LOG_MARGINAL)
    tight = weight_intervals(WEIGHTS, LOG_MARGINAL, 1e10, seed=1)
    assert tight[:, 0] == pytest.approx(expected, abs=1e-4)
    assert tight[:, 1] == pytest.approx(expected, abs=1e-4)
    loose = weight_intervals(WEIGHTS, LOG_MARGINAL, 1.0, seed=1)
    assert np.all(loose[:, 1] - loose[:, 0] > 10 * (tight[:, 1] - tight[:, 0]))


def test_decisive_evidence_narrows_the_interval() -> None:
    weak = weight_intervals(WEIGHTS, np.array([-1.0, -1.1, -0.9]), 10.0, seed=2)
    strong = weight_intervals(WEIGHTS, np.array([-1.0, -30.0, -40.0]), 10.0, seed=2)
    assert strong[0, 0] > 0.999
    assert np.all(strong[:, 1] - strong[:, 0] < weak[:, 1] - weak[:, 0])


def test_zero_weight_scenario_gets_an_empty_interval() -> None:
    weights = np.array([0.0, 0.6, 0.4])
    out = weight_intervals(weights, LOG_MARGINAL, 10.0, seed=0)
    assert out[0].tolist() == [0.0, 0.0]
    draws = weight_draws(weights, LOG_MARGINAL, 10.0, seed=0, draws=50_000)
    assert np.all(draws[:, 0] == 0.0)
    assert draws[:, 1:].mean(axis=0) == pytest.approx(point(weights[1:], LOG_MARGINAL[1:]),
                                                      abs=0.01)


def test_forecast_intervals(bundled_case: Case) -> None:
    forecast = run_forecast(bundled_case, as_of=dt.date(2026, 1, 1))
    lo, hi = forecast.intervals[:, 0], forecast.intervals[:, 1]
    assert np.all(lo <= forecast.probabilities) and np.all(forecast.probabilities <= hi)
    assert forecast.interval_level == 0.9
    # re-weighting without rerunning the engine reuses the same marginal likelihoods
    items, excluded = bundled_case.select(dt.date(2026, 1, 1))
    result = get_engine("exact").run(bundled_case, bundled_case.observations(items), 0)
    weights = np.array([0.6, 0.2, 0.2])
    again = assemble(bundled_case, items, excluded, result, "exact", dt.date(2026, 1, 1),
                     seed=forecast.seed, weights=weights)
    assert again.probabilities == pytest.approx(point(weights, result.log_marginal), abs=1e-12)
    assert again.prior == pytest.approx(weights)
    same = assemble(bundled_case, items, excluded, result, "exact", dt.date(2026, 1, 1),
                    seed=forecast.seed)
    assert np.array_equal(same.intervals, forecast.intervals)
