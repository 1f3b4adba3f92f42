"""The PyMC engine against the exact engine: densities (fast), then real fits (slow).

All fits share one compiled model structure (the bundled case's), so the session compiles
once; the random cases are packed two to a run (slots are independent, so packing does
not change any number) and rerun through ``with_data``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from toolkit.core.mathutil import logsumexp
from toolkit.families import family_for
from toolkit.families.observation import Observation
from toolkit.inference.engines.exact import ExactEngine
from toolkit.inference.engines.pymc_densities import NP, link_loglik, log_prior, pytensor_ops
from toolkit.inference.engines.pymc_layout import build_layout
from toolkit.model.indicators import Indicator
from toolkit.outputs.forecast import run_forecast

FAST = {"draws": 1000, "tune": 300, "chains": 4}
KINDS = {"gamma_poisson": "count", "normal_lognormal": "amount", "beta_bernoulli": "signal"}


# ------------------------------------------------------------------ a small synthetic case


@dataclass
class _Priors:
    scenario_ids: list[str]
    weights: list[float]


@dataclass
class SmallCase:
    """Just what the engines read from a case: scenarios, indicators, prior parameters."""

    priors: _Priors
    indicators: dict[str, Indicator]
    params: dict[tuple[str, str], tuple[float, ...]] = field(default_factory=dict)

    @property
    def used_indicators(self) -> list[str]:
        return list(self.indicators)

    def prior_params(self, indicator: str, scenario: str) -> tuple[float, ...]:
        return self.params[(indicator, scenario)]

    def drift(self, indicator: str, scenario: str) -> None:
        """Rates never wander in these cases (they run on NUTS, not the latent paths)."""
        return None


@pytest.fixture(scope="session")
def bundled_case(tempered_bundled_case):
    """The NUTS method runs the tempered reading (the mixture takes the latent paths)."""
    return tempered_bundled_case


def random_case(seed: int, tag: str = "") -> tuple[SmallCase, list[Observation]]:
    """Three scenarios; a count, an occurrence, an amount and a signal indicator."""
    rng = np.random.default_rng([seed, sum(map(ord, "pymc-agreement"))])
    scenarios = ["a", "b", "c"]
    kinds = {f"count{tag}": "count", f"occ{tag}": "occurrence", f"amount{tag}": "amount",
             f"signal{tag}": "signal"}
    indicators = {i: Indicator(i, i, k, "units", "", 0.35) for i, k in kinds.items()}
    params = {}
    for i, kind in kinds.items():
        for s in scenarios:
            if kind in ("count", "occurrence"):
                alpha = rng.uniform(2, 10)
                mean = math.exp(rng.uniform(math.log(0.3), math.log(40)))
                params[(i, s)] = (alpha, alpha / mean)
            elif kind == "amount":
                params[(i, s)] = (rng.uniform(-1, 2), rng.uniform(0.3, 1.0), 0.35)
            else:
                params[(i, s)] = (rng.uniform(1, 8), rng.uniform(1, 8))
    truth = scenarios[rng.integers(3)]
    grades = [1.0, 0.85, 0.65, 0.45]
    obs = []
    for j in range(int(rng.integers(1, 3))):
        a, b = params[(f"count{tag}", truth)]
        t = rng.uniform(1, 12)
        y = float(rng.poisson(rng.gamma(a, 1 / b) * t))
        low, high = y, y
        if rng.random() < 0.5:
            low, high = (math.floor(0.7 * y), math.ceil(1.3 * y) + 1) if rng.random() < 0.5 \
                else (max(1.0, math.floor(0.8 * y)), math.inf)
        obs.append(Observation(f"C{j}{tag}", f"count{tag}", t, low, high, rng.choice(grades)))
    a, b = params[(f"occ{tag}", truth)]
    t = rng.uniform(0.5, 3)
    hit = rng.poisson(rng.gamma(a, 1 / b) * t) > 0
    obs.append(Observation(f"O{tag}", f"occ{tag}", t, 1.0 if hit else 0.0,
                           math.inf if hit else 0.0, rng.choice(grades)))
    mu, sigma, noise = params[(f"amount{tag}", truth)]
    t = rng.uniform(1, 12)
    value = math.exp(rng.normal(mu, sigma) + rng.normal(0, noise)) * t
    if rng.random() < 0.3:
        obs.append(Observation(f"A{tag}", f"amount{tag}", t, 0.8 * value, 1.5 * value, 1.0))
    else:
        obs.append(Observation(f"A{tag}", f"amount{tag}", t, value, value, rng.choice(grades)))
    a, b = params[(f"signal{tag}", truth)]
    n = int(rng.integers(1, 6))
    k = float(rng.binomial(n, rng.beta(a, b)))
    obs.append(Observation(f"S{tag}", f"signal{tag}", 1.0, k, k, rng.choice(grades), n))
    weights = list(rng.dirichlet([3.0, 3.0, 3.0]))
    return SmallCase(_Priors(scenarios, weights), indicators, params), obs


def packed(seeds: list[int]) -> tuple[SmallCase, list[Observation], list[list[int]]]:
    """Several random cases in one: their indicators are disjoint, so slots never mix."""
    cases = [random_case(s, tag=f"_{s}") for s in seeds]
    merged = SmallCase(cases[0][0].priors, {}, {})
    obs, rows = [], []
    for case, case_obs in cases:
        merged.indicators.update(case.indicators)
        merged.params.update(case.params)
        rows.append(list(range(len(obs), len(obs) + len(case_obs))))
        obs += case_obs
    return merged, obs, rows


def posterior(weights, log_marginal) -> np.ndarray:
    log_post = np.log(weights) + log_marginal
    return np.exp(log_post - logsumexp(log_post))


# ------------------------------------------------------------------------- fast tests


def test_densities_match_the_families():
    case, obs = random_case(3)
    u = np.linspace(-3, 4, 41)
    for o in obs:
        kind = case.indicators[o.indicator].kind
        params = case.params[(o.indicator, "a")]
        layout = build_layout(case, [o])
        fam_id = family_for(kind).name
        fam = layout.families[fam_id]
        for group, link in fam.link_data.items():
            if not link["slot"].size:
                continue
            c = {k: v[:1, None] for k, v in link.items()}
            got = link_loglik(NP, fam_id, group, u[None, :], c)[0]
            want = family_for(kind).log_lik_u(u, o, params)
            # censored counts are one CDF difference: exact to ~1e-16 absolute, so compared
            # where the probability exceeds 1e-10 (far below, both are negligible)
            bulk = want > math.log(1e-10)
            np.testing.assert_allclose(got[bulk], want[bulk], rtol=1e-6, atol=1e-8)
            assert np.all(got[~bulk] < math.log(1e-9))
        p1, p2 = params[:2]
        np.testing.assert_allclose(log_prior(NP, fam_id, u, p1, p2),
                                   family_for(kind).log_prior_u(u, params), rtol=1e-12)


def test_pytensor_densities_equal_numpy():
    import pytensor
    import pytensor.tensor as pt

    case, obs, _ = packed([1, 2, 5, 8])
    layout = build_layout(case, obs, dispersion={"count_1": 0.3})
    ops = pytensor_ops()
    for fam_id, fam in layout.families.items():
        for group, link in fam.link_data.items():
            if not link["slot"].size:
                continue
            u = pt.dvector("u")
            c = {k: pt.as_tensor_variable(v) for k, v in link.items()}
            fn = pytensor.function([u], link_loglik(ops, fam_id, group, u, c),
                                   mode="FAST_COMPILE")
            point = np.linspace(-1.0, 2.0, link["slot"].size)
            want = link_loglik(NP, fam_id, group, point[:, None],
                               {k: v[:, None] for k, v in link.items()})[:, 0]
            np.testing.assert_allclose(fn(point), want, rtol=1e-7, atol=1e-9)


def test_new_evidence_keeps_the_model_structure(bundled_case):
    items, _ = bundled_case.select(None)
    obs = bundled_case.observations(items)
    fewer = build_layout(bundled_case, obs[:-1])
    full = build_layout(bundled_case, obs)
    assert fewer.structure == full.structure
    small, big = fewer.data(), full.data()
    assert small.keys() == big.keys() == {"slots", "links", "counts"}
    assert small["slots"].shape == big["slots"].shape == (sum(full.structure[:3]), 4)
    # one more item: one more link per scenario, same structure
    assert len(big["links"]) == len(small["links"]) + len(bundled_case.priors.scenario_ids)
    assert big["counts"].sum() == len(big["links"]) and len(big["counts"]) == len(full.groups())


def test_packed_model_data_hold_the_sampled_slots_and_their_links(bundled_case):
    items, _ = bundled_case.select(None)
    obs = bundled_case.observations(items)
    layout = build_layout(bundled_case, obs)
    data, row = layout.data(), 0
    ends = np.cumsum(data["counts"])
    for g, (f, group) in enumerate(layout.groups()):
        fam = layout.families[f]
        rows = data["links"][(ends[g - 1] if g else 0): ends[g]]
        link = fam.link_data[group]
        final = np.isin(link["slot"], fam.sampled)
        # a sampled slot holds all of its indicator's items: one link per item and scenario
        assert len(rows) == final.sum()
        np.testing.assert_array_equal(np.asarray(fam.sampled)[rows[:, 0].astype(int)],
                                      link["slot"][final])
        np.testing.assert_array_equal(rows[:, 1], link["r"][final])
    n_items = {i: sum(o.indicator == i for o in obs) for i in bundled_case.used_indicators}
    for f in ("gamma_poisson", "normal_lognormal", "beta_bernoulli"):
        fam = layout.families[f]
        assert all(fam.slots[s].prefix == n_items[fam.slots[s].indicator] for s in fam.sampled)
        block = data["slots"][row: row + fam.capacity]
        np.testing.assert_array_equal(block[: len(fam.sampled), 0],
                                      fam.slot_data["p1"][fam.sampled])
        row += fam.capacity


def test_centring_matches_closed_form_posteriors_even_when_very_narrow(bundled_case):
    """Slots whose items are all exact counts have a log-Gamma posterior: check the grid."""
    from scipy import special

    from toolkit.inference.engines.pymc_layout import bracket_slots
    from toolkit.inference.engines.pymc_marginal import centre

    items, _ = bundled_case.select(None)
    obs = bundled_case.observations(items)
    fam = build_layout(bundled_case, obs).families["gamma_poisson"]
    centre(fam, bracket_slots(fam, obs))
    exact_only = fam.link_data["pois"]
    others = np.concatenate([fam.link_data[g]["slot"] for g in ("pois_any", "pois_cens")])
    checked = 0
    for s in set(exact_only["slot"].tolist()) - set(others.tolist()):
        mine = exact_only["slot"] == s
        shape = fam.slot_data["p1"][s] + (exact_only["r"] * exact_only["low"])[mine].sum()
        rate = fam.slot_data["p2"][s] + (exact_only["r"] * exact_only["t"])[mine].sum()
        np.testing.assert_allclose(fam.slot_data["center"][s],
                                   special.digamma(shape) - np.log(rate), atol=1e-4)
        np.testing.assert_allclose(fam.slot_data["scale"][s],
                                   np.sqrt(special.polygamma(1, shape)), rtol=0.02)
        checked += 1
    # the million rounds of ammunition: a posterior sd of about 0.001 in log rate
    narrow = [s for s in range(len(fam.slots))
              if fam.slots[s].indicator == "small_arms_ammunition" and fam.slots[s].prefix]
    assert checked >= 3 and all(5e-4 < fam.slot_data["scale"][s] < 2e-3 for s in narrow)


def test_the_model_carries_three_data_arrays(bundled_case):
    """nutpie's wrapper compiles about a second per data variable: keep them packed."""
    from toolkit.inference.engines.pymc_model import build_model

    items, _ = bundled_case.select(None)
    model = build_model(build_layout(bundled_case, bundled_case.observations(items)))
    assert {v.name for v in model.data_vars} == {"slots", "links", "counts"}
    assert {v.name for v in model.free_RVs} == {"z_gamma_poisson", "z_normal_lognormal",
                                                "z_beta_bernoulli"}


def test_negative_binomial_reduces_to_poisson_density():
    o = Observation("x", "c", 2.0, 3.0, 9.0, 1.0)
    case, _ = random_case(0)
    u = np.linspace(-1, 2, 7)
    c_pois = {"t": 2.0, "low": 3.0, "high": 9.0, "open": 0.0, "phi": 1.0}
    c_nb = dict(c_pois, phi=1e-7)
    c_pois = {k: np.array([[v]]) for k, v in c_pois.items()}
    c_nb = {k: np.array([[v]]) for k, v in c_nb.items()}
    got = link_loglik(NP, "gamma_poisson", "nb_cens", u[None, :], c_nb)[0]
    want = link_loglik(NP, "gamma_poisson", "pois_cens", u[None, :], c_pois)[0]
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert o.is_censored and case.indicators


@pytest.mark.parametrize("args", [
    ["--dispersion", "drone_supply=0.5"],  # exact engine: no closed form
    ["--engine", "pymc", "--dispersion", "financing=0.5"],  # not a count
    ["--engine", "pymc", "--dispersion", "drone_supply=lots"],
    ["--engine", "pymc", "--dispersion", "nope=1"],
])
def test_bad_dispersion_options_exit_2_before_any_sampling(case_root, args):
    from click.testing import CliRunner

    from toolkit.ui.cli import main

    result = CliRunner().invoke(main, ["forecast", "russia-iran", "--root", str(case_root),
                                       *args])
    assert result.exit_code == 2, result.output
    assert "--dispersion" in result.output
    assert not (case_root / "runs").exists()


# -------------------------------------------------------------------------- slow tests


@pytest.fixture(scope="session")
def bundled_fit(bundled_case):
    return run_forecast(bundled_case, engine="pymc", seed=1)


@pytest.fixture(scope="session")
def min_capacity(bundled_fit):
    cap = bundled_fit.diagnostics["model_structure"]
    return {"gamma_poisson": cap[0], "normal_lognormal": cap[1], "beta_bernoulli": cap[2]}


@pytest.mark.slow
def test_bundled_case_agrees_with_exact_and_converges(bundled_case, bundled_fit):
    exact = run_forecast(bundled_case, engine="exact", seed=1)
    np.testing.assert_allclose(bundled_fit.probabilities, exact.probabilities, atol=0.02)
    np.testing.assert_allclose(bundled_fit.trail, exact.trail, atol=0.03)
    d = bundled_fit.diagnostics
    assert d["converged"], d["problems"]
    assert d["r_hat_max"] <= 1.01 and d["ess_bulk_min"] >= 400 and d["ess_tail_min"] >= 400
    assert d["divergences"] == 0 and d["marginal_mcse_max"] < 0.05


@pytest.mark.slow
def test_bundled_extras_hold_draws_and_a_datatree(bundled_case, bundled_fit):
    draws = bundled_fit.extras["parameter_draws"]
    assert set(draws) == {(i, s) for i in bundled_case.used_indicators
                          for s in bundled_case.priors.scenario_ids}
    # the rounds-per-month posterior sits at the reported figure (1e6 rounds / ~6.8 months)
    rate = draws[("small_arms_ammunition", "transactional")]
    d = bundled_fit.diagnostics
    assert rate.shape == (d["draws"] * d["chains"],) and 1.2e5 < np.median(rate) < 1.7e5
    share = draws[("diplomatic_alignment", "drift")]
    assert np.all((share > 0) & (share < 1))
    tree = bundled_fit.extras["posterior"]
    assert tree["posterior"]["rate"].sizes["scenario"] == 3
    assert "diverging" in tree["sample_stats"]


@pytest.mark.slow
def test_same_seed_gives_identical_numbers(bundled_case, bundled_fit):
    again = run_forecast(bundled_case, engine="pymc", seed=1)
    np.testing.assert_array_equal(again.probabilities, bundled_fit.probabilities)
    np.testing.assert_array_equal(again.increments, bundled_fit.increments)


@pytest.mark.slow
@pytest.mark.parametrize("batch", [[i, i + 1] for i in range(0, 20, 2)])
def test_random_cases_agree_with_exact(batch, min_capacity):
    from toolkit.inference.engines.pymc_engine import PymcEngine

    case, obs, rows = packed(batch)
    engine = PymcEngine(min_capacity=min_capacity, **FAST)
    result = engine.run(case, obs, seed=batch[0])
    exact = ExactEngine().run(case, obs)
    assert result.diagnostics["compile_seconds"] == 0.0  # shares the bundled structure
    assert result.diagnostics["converged"], result.diagnostics["problems"]
    for seed, r in zip(batch, rows, strict=True):
        weights = random_case(seed)[0].priors.weights
        got = posterior(weights, result.increments[r].sum(axis=0))
        want = posterior(weights, exact.increments[r].sum(axis=0))
        assert np.abs(got - want).max() < 0.02, (seed, got, want)


@pytest.mark.slow
def test_overdispersion_extension_limit_and_effect(min_capacity):
    from toolkit.inference.engines.pymc_engine import PymcEngine

    case, obs, _ = packed([30, 31])
    counts = [i for i in case.indicators if case.indicators[i].kind == "count"]
    exact = ExactEngine().run(case, obs)
    tiny = PymcEngine(min_capacity=min_capacity, dispersion=dict.fromkeys(counts, 1e-6),
                      **FAST).run(case, obs, seed=2)
    assert tiny.diagnostics["converged"], tiny.diagnostics["problems"]
    np.testing.assert_allclose(tiny.log_marginal, exact.log_marginal, atol=0.05)
    wide = PymcEngine(min_capacity=min_capacity, dispersion=dict.fromkeys(counts, 2.0),
                      **FAST).run(case, obs, seed=2)
    assert np.abs(wide.log_marginal - exact.log_marginal).max() > 0.1
    # the predictive of an overdispersed count is wider than the Poisson one: more mass at 0
    from toolkit.inference.posteriors import from_draws
    from toolkit.inference.predictive import cdf

    key = (counts[0], case.priors.scenario_ids[0])
    p_tiny = from_draws("count", (1.0, 1.0), tiny.extras["parameter_draws"][key], 1e-6)
    p_wide = from_draws("count", (1.0, 1.0), wide.extras["parameter_draws"][key], 2.0)
    zero_tiny = cdf(p_tiny, np.array([0.0]), 6.0)[0]
    zero_wide = cdf(p_wide, np.array([0.0]), 6.0)[0]
    assert zero_wide > zero_tiny >= 0
    assert zero_wide > 0.05


@pytest.mark.slow
def test_pymc_run_saves_a_posterior_arviz_can_load(bundled_fit, tmp_path):
    from toolkit.store.runs import load_run, save_run

    run_id = save_run(bundled_fit, tmp_path, command="test")
    run = load_run(tmp_path, "russia-iran", run_id)
    assert run.manifest["posterior"] == "posterior.zarr"
    assert run.manifest["diagnostics"]["converged"] is True
    assert set(run.changed.values()) == {"missing"}  # the inputs live elsewhere
    tree = run.posterior()
    np.testing.assert_allclose(tree["posterior"]["rate"].values,
                               bundled_fit.extras["posterior"]["posterior"]["rate"].values)


@pytest.mark.slow
def test_a_one_chain_run_gets_a_split_chain_r_hat_and_valid_json(min_capacity):
    import json

    from toolkit.core.jsonio import dumps
    from toolkit.inference.engines.pymc_engine import PymcEngine

    case, obs, _ = packed([40])
    result = PymcEngine(min_capacity=min_capacity, draws=1000, tune=300, chains=1).run(
        case, obs, seed=3)
    d = result.diagnostics
    assert np.isfinite(d["r_hat_max"]) and d["r_hat_max"] < 1.05
    assert d["ess_bulk_min"] > 100

    def refuse(constant):
        raise ValueError(constant)

    json.loads(dumps(d), parse_constant=refuse)  # no NaN or Infinity: valid JSON
