"""Calibration by simulation (``benchmarks/calibrate.py``): its scores and a small fixed run."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import calibrate  # noqa: E402

from toolkit.model.case import load_case  # noqa: E402
from toolkit.outputs.forecast import run_forecast  # noqa: E402


def test_scores_of_a_hand_made_set_of_forecasts() -> None:
    scores = [calibrate.Score(np.array([0.95, 0.05, 0.0]), 1, [0.5, 0.99]),
              calibrate.Score(np.array([0.2, 0.8, 0.0]), 1, [0.3]),
              calibrate.Score(np.array([0.5, 0.25, 0.25]), 0, [])]
    got = calibrate.score_regime(scores, np.array([0.25, 0.5, 0.25]))
    briers = [0.95**2 + 0.95**2, 0.2**2 + 0.2**2, 0.25 + 0.25**2 * 2]
    assert got["brier"] == pytest.approx(np.mean(briers))
    prior_brier = np.mean([0.25**2 + 0.5**2 + 0.25**2, 0.25**2 + 0.5**2 + 0.25**2,
                           0.75**2 + 0.5**2 + 0.25**2])
    assert got["brier_prior"] == pytest.approx(prior_brier)
    assert got["log_score"] == pytest.approx(np.mean(np.log([0.05, 0.8, 0.5])))
    assert got["wrong_at_90"] == pytest.approx(1 / 3)
    assert got["coverage_90"] == pytest.approx(2 / 3)
    # ECE over the nine (world, scenario) pairs in ten equal-width bins
    p = np.array([0.95, 0.05, 0.0, 0.2, 0.8, 0.0, 0.5, 0.25, 0.25])
    y = np.array([0, 1, 0, 0, 1, 0, 1, 0, 0])
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum((bins == b).mean() * abs(p[bins == b].mean() - y[bins == b].mean())
              for b in set(bins))
    assert got["ece"] == pytest.approx(ece)


@pytest.fixture(scope="module")
def base():
    return load_case(REPO, "russia-iran")


def test_marked_and_repeated_echoes_change_nothing(base, tmp_path: Path) -> None:
    """An echo world forecasts exactly like the same world without its re-reports."""
    rng = np.random.default_rng(11)
    world = calibrate.simulate_world(base, calibrate.REGIME_FLAGS["echo"], rng)
    echoes = [row for row in world.rows if row.id.endswith("e")]
    assert echoes and any(row.echo_of for row in echoes) and any(not r.echo_of for r in echoes)
    calibrate.write_case(tmp_path / "with", base, world)
    plain = dataclasses.replace(world, rows=[r for r in world.rows if not r.id.endswith("e")])
    calibrate.write_case(tmp_path / "without", base, plain)
    with_echoes = run_forecast(load_case(tmp_path / "with", base.name), as_of=calibrate.AS_OF)
    without = run_forecast(load_case(tmp_path / "without", base.name), as_of=calibrate.AS_OF)
    assert sorted(with_echoes.excluded["echoes"]) == sorted(r.id for r in echoes)
    assert with_echoes.probabilities == pytest.approx(without.probabilities, abs=1e-12)


@pytest.mark.slow
def test_a_small_fixed_seed_run_is_calibrated_where_the_model_holds() -> None:
    """Worlds that follow the model's assumptions: better than the prior, rarely sure and
    wrong (the full run, `make calibrate`, has 200 worlds per regime)."""
    results = calibrate.calibrate(worlds=24, seed=5, regimes=("ideal", "event_log", "echo"),
                                  progress=False)
    for name, r in results.items():
        assert r["worlds"] == 24
        assert r["brier"] < 0.6 * r["brier_prior"], name
        assert r["wrong_at_90"] <= 1 / 24, name
        assert 0.7 <= r["coverage_90"] <= 1.0, name
