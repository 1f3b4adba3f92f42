from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from toolkit.model.case import load_case
from toolkit.outputs.forecast import run_forecast
from toolkit.store import runs
from toolkit.store.history import history_path, read_history
from toolkit.store.runs import list_runs, load_run, save_run


@pytest.fixture
def forecast(case_root):
    return run_forecast(load_case(case_root, "russia-iran"), seed=7)


def test_save_run_writes_folder_manifest_and_history(case_root, forecast):
    run_id = save_run(forecast, case_root, command="scenarios forecast russia-iran")
    assert forecast.extras["run_id"] == run_id
    folder = case_root / "runs" / "russia-iran" / run_id
    manifest = json.loads((folder / "manifest.json").read_text())
    saved = json.loads((folder / "forecast.json").read_text())
    assert manifest["engine"] == "exact" and manifest["seed"] == 7
    assert manifest["inputs"] == forecast.input_hashes
    assert "priors/russia-iran.yaml" in manifest["inputs"]
    assert manifest["packages"]["numpy"] == np.__version__
    assert manifest["command"] == "scenarios forecast russia-iran"
    assert manifest["diagnostics"]["converged"] is True
    assert manifest["posterior"] is None
    probabilities = [s["probability"] for s in saved["scenarios"]]
    np.testing.assert_allclose(probabilities, forecast.probabilities)
    history = read_history(history_path(case_root), "russia-iran")
    assert [h["run_id"] for h in history] == [run_id]
    assert list_runs(case_root, "russia-iran") == [run_id]


def test_loaded_run_reports_unchanged_then_changed_inputs(case_root, forecast):
    run_id = save_run(forecast, case_root)
    run = load_run(case_root, "russia-iran", run_id)
    assert not run.inputs_changed and "unchanged" in run.message
    priors = case_root / "priors" / "russia-iran.yaml"
    priors.write_text(priors.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    (case_root / "seeds" / "russia-iran" / "extra.yaml").write_text("x: 1\n", encoding="utf-8")
    run = load_run(case_root, "russia-iran", run_id)
    assert run.changed == {"priors/russia-iran.yaml": "modified",
                           "seeds/russia-iran/extra.yaml": "added"}
    assert "INPUTS CHANGED" in run.message and "priors/russia-iran.yaml" in run.message
    (case_root / "evidence" / "russia-iran.csv").unlink()
    assert load_run(case_root, "russia-iran", run_id).changed[
        "evidence/russia-iran.csv"] == "missing"


def test_unknown_run_raises(case_root):
    with pytest.raises(FileNotFoundError, match="no saved run"):
        load_run(case_root, "russia-iran", "nope")


def test_interrupted_save_leaves_no_folder_and_no_rows(case_root, forecast, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "package_versions", boom)
    with pytest.raises(KeyboardInterrupt):
        save_run(forecast, case_root)
    folder = case_root / "runs" / "russia-iran"
    assert list(folder.iterdir()) == []
    assert read_history(history_path(case_root), "russia-iran") == []
    assert "run_id" not in forecast.extras


def test_run_ids_are_unique_and_sorted_by_time(case_root, forecast):
    ids = [save_run(forecast, case_root) for _ in range(3)]
    assert len(set(ids)) == 3
    assert list_runs(case_root, "russia-iran") == sorted(ids)
    assert len(read_history(history_path(case_root), "russia-iran")) == 3


def test_a_truncated_manifest_is_a_damaged_run_not_a_traceback(case_root: Path) -> None:
    from toolkit.core.errors import CaseError

    forecast = run_forecast(load_case(case_root, "russia-iran"))
    run_id = save_run(forecast, case_root)
    manifest = case_root / "runs" / "russia-iran" / run_id / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8")[:100], encoding="utf-8")
    with pytest.raises(CaseError) as caught:
        load_run(case_root, "russia-iran", run_id)
    problem = caught.value.problems[0]
    assert problem.file == f"runs/russia-iran/{run_id}"
    assert "is a damaged saved run (JSONDecodeError" in problem.message
    assert f"delete the folder runs/russia-iran/{run_id}" in problem.fix


def test_a_saved_run_gets_the_permissions_the_umask_allows(case_root, forecast):
    import stat

    old = os.umask(0o027)
    try:
        run_id = save_run(forecast, case_root)
    finally:
        os.umask(old)
    folder = case_root / "runs" / "russia-iran" / run_id
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert stat.S_IMODE((folder / "forecast.json").stat().st_mode) == 0o640
