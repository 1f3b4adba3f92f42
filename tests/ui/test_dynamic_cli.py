"""``scenarios forecast CASE --model dynamic``: JSON and table output, user errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.ui.cli import main

CASE = "russia-iran"


@pytest.fixture(scope="module")
def dynamic_root(repo_root, tmp_path_factory) -> Path:
    """A scratch copy of the bundled case (the dynamic run is saved under its runs/)."""
    root = tmp_path_factory.mktemp("dynamic")
    for sub in ("priors", "evidence"):
        shutil.copytree(repo_root / sub, root / sub)
    shutil.copytree(repo_root / "seeds" / CASE, root / "seeds" / CASE)
    return root


@pytest.fixture(scope="module")
def dynamic_json(dynamic_root):
    """The command of the issue's 'done when', run once (in-process)."""
    result = CliRunner().invoke(main, [
        "forecast", CASE, "--model", "dynamic", "--horizon", "2027-12-31", "--as-of",
        "2026-11-01", "--json", "--root", str(dynamic_root)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_a_dynamic_run_is_saved_with_its_manifest_and_history_rows(dynamic_root,
                                                                  dynamic_json):
    """Before: dynamic runs were never saved (and --no-save was refused as meaningless)."""
    from toolkit.store.history import history_table
    from toolkit.store.runs import list_runs, load_run

    run_id = dynamic_json["run_id"]
    assert list_runs(dynamic_root, CASE) == [run_id]
    saved = load_run(dynamic_root, CASE, run_id)
    assert saved.manifest["model"] == "dynamic" and saved.manifest["engine"] == "pymc"
    assert saved.manifest["evidence_used"] == dynamic_json["evidence_used"]
    assert saved.forecast["horizon_forecast"] == dynamic_json["horizon_forecast"]
    assert not saved.inputs_changed
    table = history_table(dynamic_root / "runs" / "history.sqlite", CASE)
    assert set(table["engine"]) == {"pymc (dynamic)"} and set(table["run_id"]) == {run_id}
    by_id = dict(zip(table["scenario"], table["probability"], strict=True))
    assert by_id == {s["id"]: s["probability"] for s in dynamic_json["scenarios"]}


@pytest.mark.slow
def test_json_has_timeline_and_horizon_summing_to_one(dynamic_json):
    data = dynamic_json
    assert data["model"] == "dynamic" and data["case"] == CASE
    months = [row["month"] for row in data["timeline"]]
    assert months[0] == "2021-11" and months[-1] == "2026-11"
    assert len(months) == len(set(months)) == 61
    for row in data["timeline"]:
        assert abs(sum(row["filtered"].values()) - 1.0) < 1e-9
        for sid, (lo, hi) in row["filtered_interval"].items():
            assert lo <= row["filtered"][sid] <= hi
    horizon = data["horizon_forecast"]
    assert horizon["date"] == "2027-12-31" and horizon["month"] == "2027-12"
    assert abs(sum(horizon["probabilities"].values()) - 1.0) < 1e-9
    reach = horizon["reach"]
    assert reach["target"] == "defense_partnership"
    assert reach["interval"][0] <= reach["probability"] <= reach["interval"][1]
    assert [p["month"] for p in data["projection"]][-1] == "2027-12"


@pytest.mark.slow
def test_json_reports_converged_diagnostics(dynamic_json):
    d = dynamic_json["diagnostics"]
    assert dynamic_json["converged"] is True and d["converged"] is True
    assert d["r_hat_max"] <= 1.01
    assert d["ess_bulk_min"] >= 400 and d["ess_tail_min"] >= 400
    assert d["divergences"] == 0


@pytest.mark.slow
def test_table_output_and_sampler_options(repo_root, dynamic_json):
    result = CliRunner().invoke(main, [
        "forecast", CASE, "--model", "dynamic", "--as-of", "2026-11-01", "--draws", "200",
        "--tune", "200", "--chains", "2", "--no-save", "--root", str(repo_root)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Saved run" not in out and "sampling: chain 1:" in result.stderr
    assert "Horizon 2027-12" in out and "Now 2026-11" in out
    assert "Full-fledged defense partnership in at least one month from 2026-11" in out
    assert "Timeline (filtered probability" in out and "Diagnostics: max r_hat" in out
    assert "(2 chains x 200 draws)" in out


def test_horizon_before_as_of_is_a_user_error(repo_root):
    result = CliRunner().invoke(main, [
        "forecast", CASE, "--model", "dynamic", "--as-of", "2026-11-01", "--horizon",
        "2025-01-01", "--root", str(repo_root)])
    assert result.exit_code == 2
    assert "--horizon" in result.output and "before the as-of date" in result.output


def test_bad_dynamics_section_is_a_user_error(case_root):
    priors = case_root / "priors" / f"{CASE}.yaml"
    text = priors.read_text(encoding="utf-8")
    text = text.replace("target: defense_partnership", "target: alliance")
    priors.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, [
        "forecast", CASE, "--model", "dynamic", "--root", str(case_root)])
    assert result.exit_code == 2
    assert "dynamics.target" in result.output and "'alliance'" in result.output


def test_static_model_is_the_default(case_root):
    result = CliRunner().invoke(main, [
        "forecast", CASE, "--json", "--as-of", "2026-11-01", "--root", str(case_root)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "timeline" not in data and data["engine"] == "exact"


def test_priors_without_dynamics_still_load(case_root):
    from toolkit.model.case import load_case

    priors = case_root / "priors" / f"{CASE}.yaml"
    text = priors.read_text(encoding="utf-8")
    priors.write_text(text[: text.index("# dynamics (optional")], encoding="utf-8")
    case = load_case(case_root, CASE)
    assert case.priors.dynamics is None
