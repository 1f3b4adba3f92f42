"""The PyMC engine on the time-aware model agrees with the exact engine (fitted once)."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolkit.model.case import load_case
from toolkit.outputs.forecast import run_forecast

CASE = "russia-iran"
AS_OF = dt.date(2026, 6, 30)
HEADER = "id,reported_on,period_start,period_end,indicator,value,unit,source,reliability,status"
GRADES = ("A1", "B2", "B3", "C3", "D4", "E5")
COUNTS = {"drone_supply": ("drones", 80.0), "munitions_supply": ("shells", 9000.0),
          "sanctions_pressure": ("actions", 1.5)}


def _day(rng: np.random.Generator, low: int, high: int) -> dt.date:
    return dt.date(2021, 1, 1) + dt.timedelta(days=int(rng.integers(low, high)))


def random_time_aware_case(root: Path, repo: Path, seed: int, tempered: float = 0.0) -> Path:
    """A small random case on the bundled priors: wander, a path, watched events, mixture.

    Every case reads at least one of them (so the engine takes the latent paths), with 2 to
    8 ledger rows: counts exact, as ranges or as lower bounds, logged events of a watched
    indicator, and grades from A1 to E5; reliability is read as the chance a report is
    genuine (the default) unless ``tempered`` (the chance of the tempered reading).
    """
    rng = np.random.default_rng([seed, 13])
    folder = root / f"case-{seed}"
    for sub in ("priors", "evidence"):
        (folder / sub).mkdir(parents=True)
    shutil.copytree(repo / "seeds" / CASE, folder / "seeds" / CASE)
    text = (repo / "priors" / f"{CASE}.yaml").read_text(encoding="utf-8")
    if rng.random() < 0.5:
        text = text.replace("transactional:       {low: 20,  high: 700,",
                            "transactional:       {path: [{at: 2023, low: 20, high: 700}, "
                            "{at: 2026, low: 5, high: 200}],")
    if rng.random() < 0.7:
        text += f"\nwander: {rng.choice([1.5, 2.0, 3.0])}\n"
    watched = rng.random() < 0.5
    if watched:
        text += "\nwatch:\n  joint_production: since 2022-01-01\n"
    if rng.random() < tempered:
        text += "\nreliability_reading: tempered\n"
    rows = []
    for n in range(int(rng.integers(2, 6))):
        indicator = str(rng.choice(list(COUNTS)))
        unit, rate = COUNTS[indicator]
        start = _day(rng, 400, 1800)
        months = float(rng.uniform(1, 10))
        end = start + dt.timedelta(days=int(months * 30.4))
        total = max(int(rng.poisson(rate * months * rng.lognormal(0, 1))), 0)
        form = rng.random()
        value = str(total) if form < 0.5 else f"{int(total * 0.7)}-{int(total * 1.3) + 1}" \
            if form < 0.8 else f">={max(int(total * 0.8), 1)}"
        reported = end + dt.timedelta(days=int(rng.integers(0, 60)))
        rows.append(f"T{n},{reported},{start},{end},{indicator},{value},{unit},G02,"
                    f"{rng.choice(GRADES)},active")
    if watched:
        day = dt.date(2022, 1, 1)
        for n in range(int(rng.integers(1, 4))):
            day += dt.timedelta(days=int(rng.integers(30, 400)))
            rows.append(f"J{n},{day},{day},{day},joint_production,yes,events,G10,"
                        f"{rng.choice(GRADES)},active")
    (folder / "priors" / f"{CASE}.yaml").write_text(text, encoding="utf-8")
    (folder / "evidence" / f"{CASE}.csv").write_text(
        "\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def random_fits(repo_root, tmp_path_factory):
    """20 random time-aware cases, each forecast by both engines (once per session)."""
    root = tmp_path_factory.mktemp("time-aware")
    out = []
    for seed in range(20):
        case = load_case(random_time_aware_case(root, repo_root, seed), CASE)
        exact = run_forecast(case, "exact", as_of=AS_OF)
        pymc = run_forecast(case, "pymc", as_of=AS_OF, seed=seed)
        out.append((case, exact, pymc))
    return out


@pytest.mark.slow
def test_random_time_aware_cases_agree_with_the_exact_engine(random_fits):
    gaps = [float(np.abs(p.probabilities - e.probabilities).max()) for _, e, p in random_fits]
    assert max(gaps) <= 0.02, gaps
    # the cases are not trivial: time-aware, and the evidence moves the forecast
    assert all(p.diagnostics["method"].startswith("sequential Monte Carlo")
               for _, _, p in random_fits)
    moved = [float(np.abs(e.probabilities - e.prior).max()) for _, e, _ in random_fits]
    assert sum(m > 0.05 for m in moved) >= 10
    for _, exact, pymc in random_fits:
        assert pymc.converged, pymc.diagnostics["problems"]
        np.testing.assert_allclose(pymc.trail, exact.trail, atol=0.03)


@pytest.fixture(scope="session")
def bundled_paths(bundled_case):
    return run_forecast(bundled_case, engine="pymc", seed=1)


@pytest.mark.slow
def test_the_bundled_case_as_read_by_default_agrees_and_converges(bundled_case, bundled_paths):
    """Before: the PyMC engine refused the bundled case (reports that may be false)."""
    exact = run_forecast(bundled_case, engine="exact", seed=1)
    gap = np.abs(bundled_paths.probabilities - exact.probabilities).max()
    assert gap <= 0.01
    d = bundled_paths.diagnostics
    assert d["converged"], d["problems"]
    assert d["marginal_mcse_max"] < 0.05 and d["r_hat_max"] <= 1.01
    assert d["ess_bulk_min"] >= 400 and d["ess_tail_min"] >= 400
    draws = bundled_paths.extras["parameter_draws"]
    rate = draws[("munitions_supply", "transactional")]  # both branches of a B2 report
    # 4 chains of 2,000 particles, more groups of 4 where the first was not precise enough
    group = d["particles_per_chain"] * d["chains"]
    assert rate.size % group == 0 and group <= rate.size <= 4 * group
    assert 0.02 < np.mean(np.abs(np.log(rate * 6.768 / 300000)) < 0.01) < 0.9


@pytest.mark.slow
def test_the_same_seed_gives_identical_numbers_in_two_processes(repo_root):
    command = [str(Path(sys.executable).with_name("scenarios")), "forecast", CASE, "--engine",
               "pymc", "--seed", "1", "--draws", "500", "--json", "--no-save", "--root",
               str(repo_root)]
    outputs = [json.loads(subprocess.run(command, capture_output=True, text=True,
                                         check=True).stdout) for _ in range(2)]
    first, second = ([s["probability"] for s in o["scenarios"]] for o in outputs)
    assert first == second and all(math.isfinite(p) for p in first)
    assert outputs[0]["trail"] == outputs[1]["trail"]


def test_tune_on_the_time_aware_model_exits_2(case_root):
    from click.testing import CliRunner

    from toolkit.ui.cli import main

    base = ["forecast", CASE, "--engine", "pymc", "--no-save", "--root", str(case_root)]
    result = CliRunner().invoke(main, [*base, "--tune", "100"])
    assert result.exit_code == 2, result.output
    assert "--tune" in result.output and "time-aware model" in result.output
    assert "Traceback" not in result.output


def test_overdispersed_totals_on_paths_match_the_exact_engines_negative_binomial(repo_root):
    """Before: ``--dispersion`` on the time-aware model exited 2; now its totals are read as
    negative binomials around the path, as the exact engine reads them with that scatter."""
    import dataclasses

    from toolkit.inference.engines import get_engine

    case = load_case(repo_root, CASE)
    items, _ = case.select(None)
    observations = case.observations(items)
    dispersion = {"drone_supply": 2.0, "munitions_supply": 2.0}
    paths = get_engine("pymc", dispersion=dispersion).run(case, observations, seed=1)
    assert paths.diagnostics["converged"] and paths.diagnostics["dispersion"] == dispersion
    assert paths.extras["dispersion"] == dispersion  # the predictives read it too
    negative_binomial = [dataclasses.replace(o, scatter=math.log1p(dispersion[o.indicator]))
                         if o.indicator in dispersion and o.reading == "total" else o
                         for o in observations]
    exact = [get_engine("exact").run(case, chosen)
             for chosen in (negative_binomial, observations)]
    weights = np.log(case.priors.weights)

    def probabilities(result):
        joint = result.log_marginal + weights
        return np.exp(joint - np.logaddexp.reduce(joint))

    assert np.abs(probabilities(paths) - probabilities(exact[0])).max() < 0.01
    assert np.abs(probabilities(exact[0]) - probabilities(exact[1])).max() > 0.05  # it matters


def _paths_inputs(tmp_path: Path, repo: Path, seed: int):
    case = load_case(random_time_aware_case(tmp_path, repo, seed), CASE)
    items, _ = case.select(AS_OF)
    return case, case.observations(items, AS_OF)


def test_worker_processes_do_not_change_the_numbers(tmp_path, repo_root):
    """Each slot's random numbers depend on the seed, its indicator and scenario only.

    ``workers=1`` fits in this process, ``workers=2`` in two worker processes.
    """
    from toolkit.inference.engines import pymc_paths

    case, observations = _paths_inputs(tmp_path, repo_root, 3)
    runs = []
    for workers in (1, 2):
        pymc_paths.clear_cache()
        runs.append(pymc_paths.run_paths(case, observations, 5, 300, 4, workers=workers))
    assert runs[1].diagnostics["workers"] == 2
    np.testing.assert_array_equal(runs[0].increments, runs[1].increments)
    np.testing.assert_array_equal(runs[0].log_marginal, runs[1].log_marginal)


def test_an_imprecise_slot_gets_more_chains_and_pools_them(tmp_path, repo_root, monkeypatch):
    """Before: an imprecise slot was refitted from scratch; now groups of chains are added.

    With an unreachable target every slot gets :data:`MAX_CHAIN_FACTOR` groups, whose
    pooled prefix marginals are the mean of the chains' marginals (in log space).
    """
    from toolkit.inference.engines import pymc_paths

    case, observations = _paths_inputs(tmp_path, repo_root, 3)
    monkeypatch.setattr(pymc_paths, "MCSE_TARGET", 1e-9)
    pymc_paths.clear_cache()
    seen = []
    original = pymc_paths.pool_fits
    monkeypatch.setattr(pymc_paths, "pool_fits", lambda parts: seen.append(list(parts)) or
                        original(parts))
    result = pymc_paths.run_paths(case, observations, 5, 200, 2, workers=2)
    pymc_paths.clear_cache()
    d = result.diagnostics
    slots = len(d["marginal_mcse"]) and sum(len(v) for v in d["marginal_mcse"].values())
    assert d["slots_refined"] == slots  # each slot once: all the groups it may have at once
    final = [parts for parts in seen if len(parts) == pymc_paths.MAX_CHAIN_FACTOR]
    assert len(final) == slots
    for parts in final:
        pooled = original(parts)
        chains = np.concatenate([p.chain_cumulative for p in parts])
        assert chains.shape[0] == 2 * pymc_paths.MAX_CHAIN_FACTOR
        np.testing.assert_allclose(pooled.cumulative, np.log(np.mean(np.exp(chains), axis=0)),
                                   rtol=1e-12)
        assert pooled.levels.shape == (8, 200)
