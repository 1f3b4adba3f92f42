"""The dynamic model sampled with nutpie: outputs, convergence, the static limit, the chart.

Each fit runs once per module (fixed seed); the compiled model is cached per structure, so
the second fit only resamples.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from toolkit.inference.dynamic.model import Structure
from toolkit.model.dynamics import transition_prior
from toolkit.model.priors import Dynamics
from toolkit.outputs.charts.timeline import month_dates, timeline_chart
from toolkit.outputs.dynamic_forecast import run_dynamic
from toolkit.outputs.forecast import run_forecast

AS_OF = dt.date(2026, 11, 1)
HORIZON = dt.date(2027, 12, 31)
SEED = sum(map(ord, "dynamic-model"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dynamic(bundled_case):
    """The bundled case's dynamic forecast with the default sampler settings."""
    return run_dynamic(bundled_case, horizon=HORIZON, as_of=AS_OF, seed=SEED)


@pytest.fixture(scope="module")
def static_limit(bundled_case, dynamic):
    """Transitions switched off: regimes last a million months, held firmly."""
    spec = Dynamics(typical_duration_months=1e6, concentration=1e6)
    return run_dynamic(bundled_case, horizon=HORIZON, as_of=AS_OF, seed=SEED, dynamics=spec,
                       draws=500, tune=1000, chains=2)


def test_converged_with_default_settings(dynamic):
    d = dynamic.diagnostics
    assert dynamic.converged
    assert d["r_hat_max"] <= 1.01
    assert d["ess_bulk_min"] >= 400 and d["ess_tail_min"] >= 400
    assert d["divergences"] == 0
    assert "reach" in d["checked"] and "transition[0,1]" in d["checked"]


def test_grid_runs_from_the_first_evidence_month_to_the_horizon(dynamic):
    assert dynamic.months[0] == "2021-11"  # E02 covers November 2021 to February 2022
    assert dynamic.months[dynamic.as_of_row] == "2026-11"
    assert dynamic.months[-1] == "2027-12"
    assert len(dynamic.months) == 12 * 6 + 2
    assert dynamic.items_by_row[0] == ["E02"]


def test_probabilities_are_distributions_with_intervals(dynamic):
    for band in (dynamic.filtered, dynamic.smoothed):
        np.testing.assert_allclose(band.mean.sum(axis=1), 1.0, atol=1e-9)
        assert np.all(band.low <= band.mean + 1e-12) and np.all(band.mean <= band.high + 1e-12)
    assert abs(dynamic.probabilities.sum() - 1.0) < 1e-9
    assert np.all(dynamic.intervals[:, 0] < dynamic.intervals[:, 1])
    # Smoothed and filtered agree in the last month with evidence and afterwards.
    last = max(m for m, ids in enumerate(dynamic.items_by_row) if ids)
    np.testing.assert_allclose(dynamic.smoothed.mean[last:dynamic.as_of_row + 1],
                               dynamic.filtered.mean[last:dynamic.as_of_row + 1], atol=1e-9)


def test_reach_is_at_least_being_there_now_or_at_the_horizon(dynamic):
    p_reach, low, high = dynamic.reach
    target = dynamic.target
    assert dynamic.scenario_ids[target] == "defense_partnership"
    assert low <= p_reach <= high
    assert p_reach >= dynamic.current[target] - 1e-9
    assert p_reach >= dynamic.probabilities[target] - 1e-9
    assert np.all(np.diff(dynamic.reach_by_month.mean) >= -1e-12)
    assert p_reach < 1.0


def test_evidence_moves_the_regimes_the_way_the_data_point(dynamic):
    """Pre-war, a few drones favour drift; the 2022-23 supply surge rules it out."""
    drift = dynamic.scenario_ids.index("drift")
    months = dynamic.months
    assert dynamic.filtered.mean[months.index("2022-02"), drift] > dynamic.prior[drift]
    assert dynamic.filtered.mean[months.index("2023-02"), drift] < 0.05
    # Without evidence after 2023 the chain drifts back towards its stationary mix.
    assert dynamic.current[drift] > dynamic.filtered.mean[months.index("2023-02"), drift]


def test_static_limit_agrees_with_the_exact_engine(bundled_case, static_limit):
    exact = run_forecast(bundled_case, engine="exact", as_of=AS_OF)
    # Concentration 1e6 pins every self-transition within 1e-6 of 1: a Dirichlet squeezed
    # against the simplex edge, where NUTS may diverge on a handful of the 1000 draws (seen:
    # 0 or 2 depending on floating-point noise in the emissions). The agreement below is the
    # check; the default-settings fit above must have none.
    assert static_limit.diagnostics["divergences"] <= 5
    np.testing.assert_allclose(static_limit.current, exact.probabilities, atol=0.02)
    np.testing.assert_allclose(static_limit.probabilities, exact.probabilities, atol=0.02)
    np.testing.assert_allclose(static_limit.static_probabilities, exact.probabilities,
                               atol=1e-9)
    assert np.all(np.diagonal(static_limit.transition_mean) > 1 - 1e-4)


def test_rerun_reuses_the_compiled_model(static_limit):
    assert static_limit.diagnostics["compile_seconds"] == 0.0


def test_json_form(dynamic):
    data = dynamic.to_dict()
    assert data["model"] == "dynamic"
    assert len(data["timeline"]) == dynamic.as_of_row + 1
    assert len(data["projection"]) == len(dynamic.months) - dynamic.as_of_row - 1
    horizon = data["horizon_forecast"]
    assert horizon["month"] == "2027-12" and horizon["months_ahead"] == 13
    assert abs(sum(horizon["probabilities"].values()) - 1.0) < 1e-9
    assert horizon["reach"]["target"] == "defense_partnership"
    assert [s["probability"] for s in data["scenarios"]] == list(horizon["probabilities"].values())
    assert data["diagnostics"]["converged"] is True


def test_structure_prunes_unreachable_regimes(bundled_case):
    prior = transition_prior(bundled_case.priors, Dynamics(transitions={
        "transactional": {"drift": 1}, "drift": {"transactional": 1}}))
    structure = Structure.of(prior, np.array([0.0, 0.6, 0.4]))
    assert structure.states == (1, 2) and structure.live == (1, 2)
    assert structure.allowed == ((1, 2), (1, 2))


def test_timeline_chart_draws_the_forecast(dynamic):
    figure = timeline_chart(dynamic)
    axis = figure.axes[0]
    lines = {line.get_gid(): line for line in axis.get_lines() if line.get_gid()}
    x = month_dates(dynamic)
    for k, sid in enumerate(dynamic.scenario_ids):
        past = lines[f"timeline-{sid}"]
        np.testing.assert_allclose(past.get_ydata(), dynamic.filtered.mean[:dynamic.as_of_row + 1,
                                                                           k])
        ahead = lines[f"projection-{sid}"]
        assert ahead.get_ydata()[-1] == pytest.approx(dynamic.probabilities[k])
    assert lines["horizon-line"].get_xdata()[0] == pytest.approx(x[-1])
    assert lines["as-of-line"].get_xdata()[0] == pytest.approx(x[dynamic.as_of_row])
    texts = " ".join(t.get_text() for t in axis.texts)
    assert "horizon" in texts and "2027-12-31" in texts
    assert len(axis.collections) >= 2 * len(dynamic.scenario_ids)  # shaded intervals


def test_without_evidence_the_prior_carries_forward(bundled_case, dynamic):
    early = run_dynamic(bundled_case, horizon=HORIZON, as_of=dt.date(2022, 1, 15), seed=SEED,
                        draws=300, tune=300, chains=2)
    assert early.items == [] and early.months[0] == "2022-01" and early.as_of_row == 0
    np.testing.assert_allclose(early.filtered.mean[0], bundled_case.priors.weights, atol=0.03)
    assert early.to_dict()["timeline"][0]["evidence"] == []


@pytest.mark.slow
def test_rates_that_change_over_time_and_watched_quiet_time_are_read(bundled_case):
    """Before: the dynamic model refused ``wander``/``walk``/``path`` (and read no quiet time).

    Its static limit is the exact engine's forecast of the same evidence, and it samples.
    """
    from toolkit.model.case import load_case

    text = bundled_case.paths.priors.read_text(encoding="utf-8")
    as_of = dt.date(2026, 6, 1)
    case = load_case(bundled_case.paths.root, bundled_case.name, priors_text=text
                     + "\nwander: 2\nwalk: 1.3\nwatch:\n  joint_production: since 2022-01-01\n")
    dynamic = run_dynamic(case, as_of=as_of, seed=SEED, draws=300, tune=300, chains=2)
    exact = run_forecast(case, engine="exact", as_of=as_of)
    np.testing.assert_allclose(dynamic.static_probabilities, exact.probabilities, atol=1e-9)
    assert np.all(np.isfinite(dynamic.filtered.mean)) and dynamic.diagnostics["draws"] == 300
