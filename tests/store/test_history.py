from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from toolkit.model.case import load_case
from toolkit.outputs.forecast import run_forecast
from toolkit.store.history import history_path, read_history, record_run
from toolkit.store.runs import save_run
from toolkit.ui.cli import main


@pytest.fixture
def forecast(case_root):
    return run_forecast(load_case(case_root, "russia-iran"), as_of=None, seed=3)


def test_record_run_inserts_one_row_per_scenario(case_root, forecast):
    path = history_path(case_root)
    assert record_run(path, "r1", "2026-01-01T00:00:00+00:00", forecast) == 3
    runs = read_history(path, "russia-iran")
    assert [r["run_id"] for r in runs] == ["r1"]
    got = [s["probability"] for s in runs[0]["scenarios"]]
    np.testing.assert_allclose(got, forecast.probabilities)
    assert [s["id"] for s in runs[0]["scenarios"]] == forecast.scenario_ids
    assert runs[0]["engine"] == "exact" and runs[0]["seed"] == 3
    assert runs[0]["n_items"] == len(forecast.items)


def test_a_failed_insert_leaves_no_partial_rows(case_root, forecast):
    path = history_path(case_root)
    record_run(path, "r1", "2026-01-01T00:00:00+00:00", forecast)
    forecast.scenario_ids = [forecast.scenario_ids[0]] * 3  # duplicate key on the 2nd row
    with pytest.raises(sqlite3.IntegrityError):
        record_run(path, "r2", "2026-01-02T00:00:00+00:00", forecast)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM forecasts").fetchone()[0] == 3
        assert connection.execute(
            "SELECT COUNT(*) FROM forecasts WHERE run_id = 'r2'").fetchone()[0] == 0


def test_history_of_an_unknown_case_is_empty(case_root):
    assert read_history(history_path(case_root), "nope") == []


def test_history_command_shows_how_the_forecast_moved(case_root):
    runner = CliRunner()
    first = runner.invoke(main, ["forecast", "russia-iran", "--root", str(case_root),
                                 "--as-of", "2023-03-01", "--json"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(main, ["forecast", "russia-iran", "--root", str(case_root)])
    assert second.exit_code == 0, second.output
    assert "Saved run" in second.output
    result = runner.invoke(main, ["history", "russia-iran", "--root", str(case_root)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    runs = read_history(history_path(case_root), "russia-iran")
    assert len(runs) == 2
    assert runs[0]["as_of"] == "2023-03-01"
    assert json.loads(first.output)["run_id"] == runs[0]["run_id"]  # stdout is pure JSON
    assert any(line.startswith(runs[1]["run_id"]) for line in lines)
    final = runs[1]["scenarios"][1]["probability"]
    first_p = runs[0]["scenarios"][1]["probability"]
    row = next(line for line in lines if line.startswith(runs[1]["run_id"]))
    assert f"({100 * (final - first_p):+.0f})" in row
    assert "inputs unchanged" in result.output

    as_json = runner.invoke(main, ["history", "russia-iran", "--root", str(case_root), "--json"])
    payload = json.loads(as_json.output)
    assert [r["run_id"] for r in payload["runs"]] == [r["run_id"] for r in runs]


def test_history_command_says_when_inputs_changed(case_root, forecast):
    run_id = save_run(forecast, case_root, command="test")
    evidence = case_root / "evidence" / "russia-iran.csv"
    evidence.write_text(evidence.read_text(encoding="utf-8").replace("D3", "D4", 1),
                        encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["history", "russia-iran", "--root", str(case_root)])
    assert "INPUTS CHANGED" in result.output and "evidence/russia-iran.csv" in result.output
    one = runner.invoke(main, ["history", "russia-iran", "--root", str(case_root),
                               "--run", run_id])
    assert one.exit_code == 0 and "modified" in one.output
    missing = runner.invoke(main, ["history", "russia-iran", "--root", str(case_root),
                                   "--run", "nope"])
    assert missing.exit_code == 2 and "no saved run" in missing.output


def test_no_save_leaves_no_run(case_root):
    result = CliRunner().invoke(main, ["forecast", "russia-iran", "--root", str(case_root),
                                       "--no-save"])
    assert result.exit_code == 0
    assert not (case_root / "runs").exists()


def test_a_corrupt_history_exits_2_and_no_run_folder_is_left(case_root: Path) -> None:
    from toolkit.ui.cli import main

    runner = CliRunner()
    args = ["forecast", "russia-iran", "--root", str(case_root)]
    assert runner.invoke(main, args).exit_code == 0
    history = case_root / "runs" / "history.sqlite"
    history.write_bytes(b"not a database at all" * 100)
    folders = sorted((case_root / "runs" / "russia-iran").iterdir())
    for command in (args, ["history", "russia-iran", "--root", str(case_root)]):
        result = runner.invoke(main, command)
        assert result.exit_code == 2, result.output
        assert "runs/history.sqlite: is not a readable run history" in result.output
        assert "rename it to history.sqlite.broken" in result.output
    assert sorted((case_root / "runs" / "russia-iran").iterdir()) == folders


def test_history_table_is_tidy_and_matches_the_rows_written(case_root, forecast):
    from toolkit.store.history import history_table

    path = history_path(case_root)
    assert history_table(path, "russia-iran").empty
    record_run(path, "r1", "2026-01-01T00:00:00+00:00", forecast)
    record_run(path, "r2", "2026-01-02T12:30:00+00:00", forecast)
    table = history_table(path, "russia-iran")
    assert len(table) == 6 and list(table["run_id"]) == ["r1"] * 3 + ["r2"] * 3
    assert list(table["scenario"][:3]) == forecast.scenario_ids
    np.testing.assert_allclose(table["probability"][:3], forecast.probabilities)
    np.testing.assert_allclose(table[["interval_low", "interval_high"]][:3], forecast.intervals)
    assert str(table["created"].dt.tz) == "UTC" and table["created"].iloc[3].hour == 12
    assert table["as_of"].iloc[0].date() == forecast.as_of
    with sqlite3.connect(path) as connection:  # an independent read of the same rows
        raw = connection.execute("SELECT probability FROM forecasts ORDER BY created, "
                                 "position").fetchall()
    np.testing.assert_allclose(table["probability"], [p for (p,) in raw])
