"""kill -9 in the middle of add, forecast and report: every file old or new, the next run clean.

Each command runs in its own process with a hook that sends itself SIGKILL at a chosen
moment (just before a chosen file is renamed into place, or before the history insert);
the next ordinary command must succeed and leave no leftovers behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.store.history import history_path, read_history
from toolkit.store.runs import list_runs

CASE = "russia-iran"

KILLER = """
import os, signal, sys
where, what = sys.argv[1], sys.argv[2]
def die():
    os.kill(os.getpid(), signal.SIGKILL)
if where == "replace":  # just before the named file is renamed into place
    real = os.replace
    def replace(source, target, *args, **kwargs):
        if what in os.path.basename(os.fspath(target)):
            die()
        return real(source, target, *args, **kwargs)
    os.replace = replace
elif where == "history":  # after the run folder is in place, before its history rows
    import toolkit.store.runs as runs
    runs.record_run = lambda *args, **kwargs: die()
from toolkit.ui.cli import main
sys.argv = ["scenarios", *sys.argv[3:]]
main()
"""

ADD = ["--reported-on", "2023-10-02", "--period-start", "2023-09-01", "--period-end",
       "2023-09-30", "--indicator", "drone_supply", "--unit", "drones", "--source", "G02",
       "--reliability", "C3"]


def _killed(where: str, what: str, args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", KILLER, where, what, *args],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr


def _run(args: list[str]) -> str:
    done = subprocess.run([sys.executable, "-m", "toolkit", *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def recorded_runs(path: Path, case: str) -> set[str]:
    return {run["run_id"] for run in read_history(path, case)}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if ".locks" not in p.parts)


def test_a_killed_add_leaves_the_old_ledger_and_the_next_add_cleans_up(case_root: Path):
    ledger = case_root / "evidence" / f"{CASE}.csv"
    before = ledger.read_bytes()
    base = ["evidence", "add", CASE, "--root", str(case_root), *ADD]
    _killed("replace", f"{CASE}.csv", [*base, "--id", "K1", "--value", "100-401"])
    assert ledger.read_bytes() == before  # old, whole
    assert len(_leftovers(case_root / "evidence")) == 1  # the killed write's temporary file
    _run([*base, "--id", "K2", "--value", "100-402"])
    after = ledger.read_bytes()
    assert after.startswith(before) and after[len(before):].startswith(b"K2,")
    assert _leftovers(case_root / "evidence") == []


@pytest.mark.parametrize("moment", ["folder", "history"])
def test_a_killed_forecast_is_mended_by_the_next_one(case_root: Path, moment: str):
    args = ["forecast", CASE, "--root", str(case_root)]
    _run(args)  # one complete run first
    first = list_runs(case_root, CASE)
    if moment == "folder":  # killed while writing the run folder: nothing half-saved
        _killed("replace", "manifest.json", args)
        assert list_runs(case_root, CASE) == first
        assert any(name.startswith(".partial-") for name in _leftovers(case_root / "runs"))
    else:  # killed after the folder moved into place, before the history rows
        _killed("history", "", args)
        assert len(list_runs(case_root, CASE)) == 2
        assert recorded_runs(history_path(case_root), CASE) == set(first)
        shown = json.loads(_run(["history", CASE, "--root", str(case_root), "--json"]))
        assert [run["run_id"] for run in shown["runs"]] == list_runs(case_root, CASE)
    _run(args)
    runs = list_runs(case_root, CASE)
    assert len(runs) == (2 if moment == "folder" else 3)
    assert recorded_runs(history_path(case_root), CASE) == set(runs)  # reconciled
    assert _leftovers(case_root / "runs") == []
    history = json.loads(_run(["history", CASE, "--root", str(case_root), "--json"]))
    assert [run["run_id"] for run in history["runs"]] == runs


def test_a_killed_report_does_not_block_the_identical_rerun(case_root: Path, tmp_path: Path):
    out = tmp_path / "out"
    args = ["report", CASE, "--root", str(case_root), "--out", str(out), "--as-of",
            "2024-06-30", "--format", "svg", "--no-sensitivity"]
    _killed("replace", "-attribution.svg", args)
    written = sorted(out.glob("*.svg"))
    assert written and all(p.read_text(encoding="utf-8").rstrip().endswith("</svg>")
                           for p in written)  # each file there is whole
    manifest = json.loads(next(out.glob("*-manifest.json")).read_text(encoding="utf-8"))
    assert manifest["complete"] is False
    assert any(name.endswith("-attribution.svg") for name in manifest["files"])
    assert len(_leftovers(out)) == 1
    _run(args)  # the same run again: no --force needed
    manifest = json.loads(next(out.glob("*-manifest.json")).read_text(encoding="utf-8"))
    assert manifest["complete"] is True and _leftovers(out) == []
    assert sorted(manifest["files"]) == sorted(p.name for p in out.glob("*.svg"))
    assert all(isinstance(digest, str) for digest in manifest["files"].values())
    # a different run is still refused: the guard was not weakened
    done = subprocess.run([sys.executable, "-m", "toolkit", *args, "--seed", "9"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "--force" in done.stderr
