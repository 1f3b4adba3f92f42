"""The ``scenarios`` command: cases, forecast table, evidence list, help, root handling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.model.case import Case
from toolkit.outputs.forecast import run_forecast
from toolkit.outputs.language import ICD203, estimative_word, percent
from toolkit.ui.cli import main

WORDS = [word for _, word in ICD203]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_cases(repo_root: Path, tmp_path: Path) -> None:
    result = invoke("cases", "--root", str(repo_root))
    assert result.exit_code == 0
    assert "russia-iran" in result.stdout.splitlines()
    (tmp_path / "priors").mkdir()
    empty = invoke("cases", "--root", str(tmp_path))
    assert empty.exit_code == 0
    assert "No cases under" in empty.stdout


def test_forecast_table(repo_root: Path, bundled_case: Case) -> None:
    result = invoke("forecast", "russia-iran", "--root", str(repo_root), "--no-save")
    assert result.exit_code == 0, result.output
    out = result.stdout
    forecast = run_forecast(bundled_case)
    assert forecast.title in out
    assert "Estimate" in out and "90% interval" in out
    for label, p in zip(forecast.labels, forecast.probabilities, strict=True):
        row = next(line for line in out.splitlines() if line.strip().startswith(label))
        assert row.rstrip().endswith(estimative_word(float(p)))
        assert f" {percent(float(p))} " in row
    assert any(word in out for word in WORDS)
    assert "What moved it most:" in out
    assert forecast.headline() in out
    assert f"{len(bundled_case.evidence) - 2} evidence items used" in out
    assert "2 inside a reported total" in out


def test_forecast_level_and_as_of(repo_root: Path, bundled_case: Case) -> None:
    result = invoke("forecast", "russia-iran", "--as-of", "2022-12-31", "--level", "0.8",
                    "--root", str(repo_root), "--no-save")
    assert result.exit_code == 0
    assert "80% interval" in result.stdout
    assert "Forecast as of 2022-12-31" in result.stdout
    early = sum(i.reported_on.isoformat() <= "2022-12-31" for i in bundled_case.evidence)
    late = len(bundled_case.evidence) - early
    assert f"{early} evidence items used (0 retracted, {late} reported after the as-of date)" in (
        result.stdout)


def test_forecast_bad_options_are_usage_errors(repo_root: Path) -> None:
    for args in (["--as-of", "yesterday"], ["--engine", "magic"], ["--level", "1.5"]):
        result = invoke("forecast", "russia-iran", "--root", str(repo_root), *args)
        assert result.exit_code == 2
        assert "Traceback" not in result.output
    bad_date = invoke("forecast", "russia-iran", "--root", str(repo_root), "--as-of", "2023-02-30")
    assert "'2023-02-30' is not a date; write it as YYYY-MM-DD" in bad_date.stderr


def test_unknown_case(repo_root: Path) -> None:
    result = invoke("forecast", "china-iran", "--root", str(repo_root))
    assert result.exit_code == 2
    assert "no case named 'china-iran'" in result.stderr


def test_evidence_list(repo_root: Path, bundled_case: Case) -> None:
    result = invoke("evidence", "list", "russia-iran", "--root", str(repo_root))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "reported", "indicator"]
    assert lines[-1] == f"{len(bundled_case.evidence)} item(s)."
    ids = [line.split()[0] for line in lines[1:-1]]
    assert ids == [i.id for i in sorted(bundled_case.evidence,
                                        key=lambda i: (i.reported_on, i.line))]
    as_json = invoke("evidence", "list", "russia-iran", "--json", "--root", str(repo_root))
    items = json.loads(as_json.stdout)
    assert {i["id"] for i in items} == {i.id for i in bundled_case.evidence}
    e04 = next(i for i in items if i["id"] == "E04")
    assert (e04["value"], e04["unit"], e04["reliability"]) == (">=10", "drones/day", "C3")
    none = invoke("evidence", "list", "russia-iran", "--status", "retracted", "--root",
                  str(repo_root))
    assert none.stdout.splitlines()[-1] == "0 item(s)."


@pytest.mark.parametrize(
    "args",
    [["cases"], ["forecast", "russia-iran"], ["evidence", "list", "russia-iran"],
     ["evidence", "retract", "russia-iran", "E01"]],
)
def test_root_without_priors_exits_2(tmp_path: Path, args: list[str]) -> None:
    result = invoke(*args, "--root", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: 1 problem found:",
        f"  {tmp_path}: --root: holds no priors/ folder. Fix: point --root at the folder "
        "holding priors/, evidence/ and seeds/.",
    ]


def test_python_m_toolkit_help() -> None:
    done = subprocess.run([sys.executable, "-m", "toolkit", "--help"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0
    assert "Usage: scenarios" in done.stdout
    for command in ("cases", "forecast", "evidence", "new"):
        assert command in done.stdout
    version = subprocess.run([sys.executable, "-m", "toolkit", "--version"],
                             capture_output=True, text=True, timeout=120, check=False)
    assert version.returncode == 0 and version.stdout.startswith("scenarios, version ")


def test_forecast_json_via_python_m_toolkit(repo_root: Path) -> None:
    # run from a subfolder: the root is found upward (the folder holding priors/)
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "forecast", "russia-iran", "--engine", "exact",
         "--json", "--no-save"],
        capture_output=True, text=True, timeout=120, check=False, cwd=repo_root / "seeds",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert sum(s["probability"] for s in data["scenarios"]) == pytest.approx(1.0, abs=1e-12)


def test_report_command_knows_every_report_format():
    from toolkit.outputs.report import REPORT_FORMATS
    from toolkit.ui.cli.report import REPORT_FORMATS as CLI_FORMATS

    assert CLI_FORMATS == REPORT_FORMATS


def test_command_line_starts_without_the_plotting_or_sampling_stack():
    import subprocess
    import sys

    code = ("import sys, toolkit.ui.cli; heavy = {'matplotlib', 'pymc', 'nutpie', 'arviz'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_evidence_list_shows_escape_codes_in_notes_without_running_them(case_root: Path) -> None:
    import csv

    ledger = case_root / "evidence" / "russia-iran.csv"
    with ledger.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["note"] = "\x1b[2J\x1b[31mred\x1b[0m"
    with ledger.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = invoke("evidence", "list", "russia-iran", "--root", str(case_root))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "\\x1b[2J\\x1b[31mred\\x1b[0m" in result.output


@pytest.mark.parametrize(("args", "field", "message"), [
    (["--level", "nan"], "--level", "not a probability from 0.5 to 0.99"),
    (["--seed", "-1"], "--seed", "not in the range"),
    (["--seed", str(2**80)], "--seed", "not in the range"),
    (["--as-of", "2024-W01-1"], "--as-of", "not a date; write it as YYYY-MM-DD"),
    (["--draws", "100"], "--draws", "the exact engine draws no samples, so it ignores --draws"),
    (["--model", "dynamic", "--engine", "pymc"], "--engine", "always runs on PyMC"),
    (["--engine", "pymc", "--dispersion", "drone_supply=inf"], "--dispersion", "finite PHI"),
])
def test_options_that_are_wrong_or_would_be_ignored_exit_2_before_any_work(
        case_root: Path, args: list[str], field: str, message: str) -> None:
    result = invoke("forecast", "russia-iran", "--root", str(case_root), *args)
    assert result.exit_code == 2, result.output
    assert field in result.output and message in result.output
    assert "Traceback" not in result.output
    assert not (case_root / "runs").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--rolling", "--as-of", "2024-01-01", "--until", "2023-01-01"], "is before --as-of"),
    (["--as-of", "2023-07-01", "--until", "2024-01-01"], "applies only with --rolling"),
])
def test_backtest_refuses_an_until_that_cannot_apply(repo_root, args, message) -> None:
    """Before: one as-of date silently, or --until silently ignored."""
    out = CliRunner().invoke(main, ["backtest", "russia-iran", *args, "--root", str(repo_root)])
    assert out.exit_code == 2
    assert message in out.output and "Traceback" not in out.output
