"""``scenarios sensitivity`` and ``scenarios sweep``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from toolkit.ui.cli import main


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_sensitivity_prints_the_ten_most_influential_and_writes_the_tornado(
        case_root: Path) -> None:
    result = invoke("sensitivity", "russia-iran", "--as-of", "2026-06-01", "--root",
                    str(case_root), "--out", "charts")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line[:4].strip().isdigit()]
    assert [int(r.split()[0]) for r in rows] == list(range(1, 11))
    assert "P(Transactional military-economic cooperation) = 7" in result.stdout
    assert "-> defense_partnership" in result.stdout
    for ext in ("png", "svg"):
        assert (case_root / "charts" / f"russia-iran-sensitivity.{ext}").stat().st_size > 5000
    assert "sensitivity: quantities" in result.stderr


def test_sensitivity_json_lists_every_input(case_root: Path) -> None:
    result = invoke("sensitivity", "russia-iran", "--as-of", "2026-06-01", "--root",
                    str(case_root), "--json", "--no-chart")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["headline"]["scenario"] == "transactional"
    assert len(data["inputs"]) > 60 and data["charts"] == []
    swings = [i["swing"] for i in data["inputs"]]
    assert swings == sorted(swings, reverse=True)
    assert not (case_root / "reports").exists()


def test_sweep_writes_a_tidy_table_and_chart(case_root: Path) -> None:
    result = invoke("sweep", "russia-iran", "--vary", "scenarios.drift.weight=0.2:1:3",
                    "--as-of", "2026-06-01", "--scheduler", "serial", "--out", "sweeps/w.csv",
                    "--chart", "sweeps/w.svg", "--root", str(case_root))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(case_root / "sweeps" / "w.csv")
    assert list(table["scenarios.drift.weight"]) == [0.2, 0.6, 1.0]
    assert list(table.columns[1:]) == ["p_defense_partnership", "p_transactional", "p_drift",
                                       "leading"]
    assert (table["p_drift"].diff().dropna() > 0).all()  # more prior weight, more posterior
    assert "<svg" in (case_root / "sweeps" / "w.svg").read_text()
    assert "serially in this process" in result.stderr


@pytest.mark.parametrize(("args", "words"), [
    (["--vary", "scenarios.drift.weight=1:0.5:3"], "LOW must be a finite number below HIGH"),
    (["--vary", "nonsense"], "is not PATH=LOW:HIGH:N"),
    (["--vary", "scenarios.nope.weight=0.1:0.5:3"], "'nope' is not in the priors here"),
    (["--vary", "title=0.1:0.5:3"], "is not a number"),
    (["--vary", "wander=1:3:3"], "greater than 1"),
    (["--vary", "wander=1.5:3:3", "--design", "random"], "needs --points"),
    (["--vary", "wander=1.5:3:3", "--out", "t.xlsx"], "must end in .csv or .parquet"),
])
def test_bad_sweeps_exit_2_naming_the_problem(case_root: Path, args, words) -> None:
    full = ["sweep", "russia-iran", "--scheduler", "serial", "--root", str(case_root), *args]
    if "--out" not in args:
        full += ["--out", "t.csv"]
    result = invoke(*full)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "Traceback" not in result.output
    assert not (case_root / "t.csv").exists()
