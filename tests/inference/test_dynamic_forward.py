"""The dynamic model's building blocks, without sampling: forward algorithm, transition prior,
evidence months, and the exact static limit."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from pydantic import ValidationError

from toolkit.core.errors import CaseError
from toolkit.inference.dynamic import forward as fw
from toolkit.inference.dynamic.emissions import (
    evidence_months,
    month_index,
    month_label,
    month_shares,
)
from toolkit.model.dynamics import transition_prior
from toolkit.model.priors import Dynamics
from toolkit.outputs.forecast import run_forecast

RNG_SEED = sum(map(ord, "dynamic-forward"))


@pytest.fixture(scope="module")
def pytensor_forward():
    import pytensor
    import pytensor.tensor as pt

    log_init, log_trans, log_e = pt.vector("log_init"), pt.matrix("log_trans"), pt.matrix("e")
    return pytensor.function([log_init, log_trans, log_e],
                             fw.forward_loglik(log_init, log_trans, log_e))


def random_hmm(rng: np.random.Generator, states: int, months: int, spread: float = 3.0):
    initial = rng.dirichlet(np.ones(states))
    transition = rng.dirichlet(np.full(states, 0.7), size=states)
    emissions = rng.normal(-4.0, spread, size=(months, states))
    return initial, transition, emissions


def path_weights(initial, transition, emissions):
    """Brute force: the log joint of every path of states."""
    months, states = emissions.shape
    paths = list(itertools.product(range(states), repeat=months))
    with np.errstate(divide="ignore"):
        log_w = np.array([
            np.log(initial[p[0]]) + sum(emissions[t, p[t]] for t in range(months))
            + sum(np.log(transition[p[t - 1], p[t]]) for t in range(1, months))
            for p in paths
        ])
    return paths, log_w


def log_sum(values):
    top = np.max(values)
    return top + np.log(np.sum(np.exp(values - top)))


@pytest.mark.parametrize("months", [1, 2, 5, 40])
@pytest.mark.parametrize("seed", range(3))
def test_pytensor_forward_matches_numpy(pytensor_forward, months, seed):
    rng = np.random.default_rng(RNG_SEED + seed)
    initial, transition, emissions = random_hmm(rng, 3, months, spread=30.0)
    expected, _ = fw.forward(initial[None], transition[None], emissions)
    got = pytensor_forward(np.log(initial), np.log(transition), emissions)
    assert abs(float(got) - expected[0, -1]) < 1e-6


def test_pytensor_forward_with_ruled_out_transitions(pytensor_forward):
    rng = np.random.default_rng(RNG_SEED)
    initial = np.array([0.0, 0.7, 0.3])
    transition = np.array([[1.0, 0.0, 0.0], [0.1, 0.9, 0.0], [0.05, 0.05, 0.9]])
    emissions = rng.normal(-3.0, 2.0, size=(12, 3))
    expected, _ = fw.forward(initial[None], transition[None], emissions)
    with np.errstate(divide="ignore"):
        got = pytensor_forward(np.log(initial), np.log(transition), emissions)
    assert abs(float(got) - expected[0, -1]) < 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_numpy_forward_matches_enumeration(seed):
    rng = np.random.default_rng(RNG_SEED + 10 + seed)
    initial, transition, emissions = random_hmm(rng, 3, 6)
    paths, log_w = path_weights(initial, transition, emissions)
    cumulative, filtered = fw.forward(initial[None], transition[None], emissions)
    assert abs(cumulative[0, -1] - log_sum(log_w)) < 1e-9
    post = np.exp(log_w - log_sum(log_w))
    for t in (0, 3, 5):
        marginal = [post[[p[t] == k for p in paths]].sum() for k in range(3)]
        np.testing.assert_allclose(fw.smoothed(initial[None], transition[None], emissions)[0, t],
                                   marginal, atol=1e-10)
    np.testing.assert_allclose(filtered.sum(axis=2), 1.0, atol=1e-12)
    # Filtered at month t is the smoothed answer of the first t + 1 months.
    sub = emissions[:4]
    sub_paths, sub_w = path_weights(initial, transition, sub)
    sub_post = np.exp(sub_w - log_sum(sub_w))
    np.testing.assert_allclose(
        filtered[0, 3], [sub_post[[p[3] == k for p in sub_paths]].sum() for k in range(3)],
        atol=1e-10)


def test_avoid_probability_matches_enumeration():
    rng = np.random.default_rng(RNG_SEED + 20)
    initial, transition, emissions = random_hmm(rng, 3, 6)
    emissions[4:] = 0.0  # months without evidence, as after the as-of date
    paths, log_w = path_weights(initial, transition, emissions)
    post = np.exp(log_w - log_sum(log_w))
    got = fw.avoid_probability(initial[None], transition[None], emissions, state=0, start=2)[0]
    expected = [post[[all(p[u] != 0 for u in range(2, t + 1)) for p in paths]].sum()
                for t in range(2, 6)]
    np.testing.assert_allclose(got, expected, atol=1e-10)
    assert np.all(np.diff(got) <= 1e-12)


def test_batched_draws_match_one_by_one():
    rng = np.random.default_rng(RNG_SEED + 30)
    draws = [random_hmm(rng, 3, 1) for _ in range(5)]
    initial = np.stack([d[0] for d in draws])
    transition = np.stack([d[1] for d in draws])
    emissions = rng.normal(-2.0, 1.0, size=(9, 3))
    cumulative, filtered = fw.forward(initial, transition, emissions)
    for n in range(5):
        one_c, one_f = fw.forward(initial[n:n + 1], transition[n:n + 1], emissions)
        np.testing.assert_allclose(cumulative[n], one_c[0])
        np.testing.assert_allclose(filtered[n], one_f[0])


def test_identity_transitions_give_the_static_mixture(pytensor_forward):
    rng = np.random.default_rng(RNG_SEED + 40)
    initial, _, emissions = random_hmm(rng, 3, 7)
    with np.errstate(divide="ignore"):
        got = pytensor_forward(np.log(initial), np.log(np.eye(3)), emissions)
    assert abs(float(got) - log_sum(np.log(initial) + emissions.sum(axis=0))) < 1e-9


# --- transition prior -------------------------------------------------------------------


def test_typical_duration_sets_the_expected_self_transition(bundled_case):
    prior = transition_prior(bundled_case.priors, Dynamics(typical_duration_months=24))
    np.testing.assert_allclose(np.diag(prior.expected), 1 - 1 / 24)
    np.testing.assert_allclose(prior.expected.sum(axis=1), 1.0)
    np.testing.assert_allclose(prior.expected[0, 1], 1 / 48)
    assert prior.allowed.all()
    assert prior.target == 0


def test_transition_weights_durations_and_absorbing_regimes(bundled_case):
    spec = Dynamics(
        typical_duration_months={"drift": 60},
        transitions={"transactional": {"defense_partnership": 3, "drift": 1},
                     "drift": {"transactional": 1}, "defense_partnership": {}},
        concentration=50, target="transactional",
    )
    prior = transition_prior(bundled_case.priors, spec)
    np.testing.assert_allclose(prior.expected[1], [0.75 / 24, 1 - 1 / 24, 0.25 / 24])
    np.testing.assert_allclose(prior.expected[2], [0.0, 1 / 60, 1 - 1 / 60])
    np.testing.assert_allclose(prior.expected[0], [1.0, 0.0, 0.0])
    assert not prior.allowed[2, 0] and not prior.allowed[0, 1]
    assert np.isinf(prior.durations[0])
    np.testing.assert_allclose(prior.row_alpha(1), 50 * prior.expected[1])
    assert prior.row_alpha(0).tolist() == [50.0]
    assert prior.target == 1
    # drift -> transactional -> defense_partnership: every regime can be reached ...
    assert prior.reachable(np.array([0.0, 0.0, 1.0])).all()
    # ... but a regime with zero weight and no way in cannot.
    closed = transition_prior(bundled_case.priors, Dynamics(transitions={
        "transactional": {"drift": 1}, "drift": {"transactional": 1}}))
    assert closed.reachable(np.array([0.0, 0.5, 0.5])).tolist() == [False, True, True]


def test_bad_dynamics_sections_are_reported_together(bundled_case):
    spec = Dynamics(typical_duration_months={"alliance": 12},
                    transitions={"drift": {"drift": 1, "rupture": 2}, "nowhere": {}},
                    target="alliance")
    with pytest.raises(CaseError) as caught:
        transition_prior(bundled_case.priors, spec)
    text = str(caught.value)
    assert len(caught.value.problems) == 5
    for fragment in ("'alliance'", "itself", "'rupture'", "'nowhere'", "dynamics.target"):
        assert fragment in text


@pytest.mark.parametrize("bad", [{"typical_duration_months": 1},
                                 {"typical_duration_months": {"drift": 0.5}},
                                 {"concentration": 0},
                                 {"transitions": {"drift": {"transactional": -1}}},
                                 {"durations": 3}])
def test_dynamics_field_values_are_validated(bad):
    with pytest.raises(ValidationError):
        Dynamics.model_validate(bad)


def test_bundled_priors_dynamics_section_is_consistent(bundled_case):
    assert bundled_case.priors.dynamics is not None
    prior = transition_prior(bundled_case.priors)
    assert prior.scenario_ids == tuple(bundled_case.priors.scenario_ids)
    np.testing.assert_allclose(prior.expected.sum(axis=1), 1.0)


# --- evidence months --------------------------------------------------------------------


def test_month_shares_split_a_period_by_days():
    shares = month_shares(dt.date(2022, 10, 15), dt.date(2022, 12, 14))
    total = (dt.date(2022, 12, 14) - dt.date(2022, 10, 15)).days + 1
    assert list(shares) == [month_index(dt.date(2022, m, 1)) for m in (10, 11, 12)]
    np.testing.assert_allclose(list(shares.values()), [17 / total, 30 / total, 14 / total])
    assert month_shares(dt.date(2023, 5, 17), dt.date(2023, 5, 17)) == {
        month_index(dt.date(2023, 5, 1)): 1.0}
    assert month_label(month_index(dt.date(2021, 11, 30))) == "2021-11"


def test_emissions_keep_each_items_total_and_the_static_marginal(bundled_case):
    items, _ = bundled_case.select(dt.date(2026, 11, 1))
    first = min(month_index(i.period_start) for i in items)
    months = evidence_months(bundled_case, items, first_month=first)
    emissions = months.emissions(months.last_row + 1)
    np.testing.assert_allclose(emissions.sum(axis=0), months.increments.sum(axis=0), atol=1e-9)
    exact = run_forecast(bundled_case, engine="exact", as_of=dt.date(2026, 11, 1))
    np.testing.assert_allclose(months.log_marginal, exact.increments.sum(axis=0), atol=1e-8)
    assert months.items[0].id == "E02"  # the earliest period (pre-war drones) comes first
    assert first == month_index(dt.date(2021, 11, 1))
    by_row = months.items_by_row(months.last_row + 1)
    assert "E17" in by_row[3] and "E17" in by_row[21] and by_row[0] == ["E02"]


def test_identity_transitions_reproduce_the_exact_engine(bundled_case):
    """The static limit without sampling: A = I gives the exact engine's answer."""
    as_of = dt.date(2026, 11, 1)
    items, _ = bundled_case.select(as_of)
    first = min(month_index(i.period_start) for i in items)
    months = evidence_months(bundled_case, items, first_month=first)
    emissions = months.emissions(month_index(as_of) - first + 1)
    weights = np.array(bundled_case.priors.weights)
    _, filtered = fw.forward(weights[None], np.eye(3)[None], emissions)
    exact = run_forecast(bundled_case, engine="exact", as_of=as_of)
    np.testing.assert_allclose(filtered[0, -1], exact.probabilities, atol=1e-9)


TIME_AWARE = {
    "wander": "\nwander: 2\n",
    "walk": "\nwander: 1.5\nwalk: 1.3\n",
    "path": "",  # the transactional drones follow a path (below)
    "watched": "\nwatch:\n  joint_production: since 2022-01-01\n",
}


@pytest.mark.parametrize("variant", list(TIME_AWARE))
def test_identity_transitions_read_the_evidence_as_the_static_model_does(bundled_case, variant):
    """Before: rates that change over time were refused, watched quiet time was not read.

    With the regime fixed the dynamic model's emissions must be the static forecast's
    evidence: its time-aware increments and the quiet watched time after the last logged
    event (up to the as-of date, a row of its own spread over its months).
    """
    from toolkit.inference.engines.exact import ExactEngine
    from toolkit.model.case import load_case

    as_of = dt.date(2026, 11, 1)
    text = bundled_case.paths.priors.read_text(encoding="utf-8") + TIME_AWARE[variant]
    if variant == "path":
        text = text.replace("transactional:       {low: 20,  high: 700,",
                            "transactional:       {path: [{at: 2023, low: 20, high: 700}, "
                            "{at: 2026, low: 5, high: 200}],")
    ledger = bundled_case.paths.evidence.read_text(encoding="utf-8")
    if variant == "watched":  # two more logged events: quiet time between and after them
        ledger += ("J1,2024-03-02,2024-03-02,2024-03-02,joint_production,yes,events,G10,B2,"
                   "active,\nJ2,2025-01-20,2025-01-20,2025-01-20,joint_production,yes,events,"
                   "G10,C3,active,\n")
    case = load_case(bundled_case.paths.root, bundled_case.name, evidence_text=ledger,
                     priors_text=text)
    assert case.changing_indicators if variant in ("wander", "walk", "path") \
        else case.watch_spans
    items, _ = case.select(as_of)
    months = evidence_months(case, items, as_of)
    exact = run_forecast(case, engine="exact", as_of=as_of)
    rows = month_index(as_of) - months.first_month + 1
    emissions = months.emissions(rows)
    static = ExactEngine().run(case, case.observations(items, as_of))  # in report order
    np.testing.assert_allclose(emissions.sum(axis=0), static.log_marginal, atol=1e-8)
    weights = np.array(case.priors.weights)
    _, filtered = fw.forward(weights[None], np.eye(3)[None], emissions)
    np.testing.assert_allclose(filtered[0, -1], exact.probabilities, atol=1e-9)
    if variant == "watched":
        assert months.quiet.shape == (1, 3) and np.all(months.quiet < 0)
        np.testing.assert_allclose(months.quiet[0], static.closing, atol=1e-12)
        # J2's quiet time runs from the day after J1: spread over 2024-03 to 2025-01
        j2 = [i.id for i in months.items].index("J2")
        spread = sorted(months.shares[j2])
        assert month_label(months.first_month + spread[0]) == "2024-03"
        assert month_label(months.first_month + spread[-1]) == "2025-01"
        # the closing quiet time: from 2025-01-21 to the as-of date
        quiet_rows = sorted(months.quiet_shares[0])
        assert month_label(months.first_month + quiet_rows[0]) == "2025-01"
        assert quiet_rows[-1] == rows - 1
