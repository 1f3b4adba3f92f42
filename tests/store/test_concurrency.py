"""Writers at once lose nothing: the ledger and the priors are changed under a file lock."""

from __future__ import annotations

import csv
import multiprocessing
from pathlib import Path

from toolkit.store.ledger import append_item, retract_item
from toolkit.store.priors_edit import save_priors

ROW = {"reported_on": "2023-10-02", "period_start": "2023-09-01", "period_end": "2023-09-30",
       "indicator": "drone_supply", "value": "100-400", "unit": "drones", "source": "G02",
       "reliability": "C3"}


def _add(root: str, item_id: str, start) -> None:
    start.wait()
    # each add reports a different value: identical claims are refused as duplicates
    value = f"100-{400 + sum(map(ord, item_id))}"
    append_item(Path(root), "russia-iran", {"id": item_id, **ROW, "value": value})


def _retract(root: str, item_id: str, start) -> None:
    start.wait()
    retract_item(Path(root), "russia-iran", item_id, reason="test")


def _run_at_once(jobs: list[tuple]) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    processes = [context.Process(target=f, args=(*args, start)) for f, *args in jobs]
    for p in processes:
        p.start()
    start.set()
    for p in processes:
        p.join(120)
    assert [p.exitcode for p in processes] == [0] * len(processes)


def _rows(root: Path) -> dict[str, dict[str, str]]:
    with (root / "evidence" / "russia-iran.csv").open(encoding="utf-8") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


WORKERS, ROUNDS = 8, 10


def _add_rounds(root: str, worker: int, barrier, start) -> None:
    """``scenarios evidence add`` ROUNDS times; every round starts in all workers at once."""
    from toolkit.ui.cli import main

    start.wait()
    for round_ in range(ROUNDS):
        barrier.wait(120)
        item_id = f"W{worker}R{round_}"
        args = ["evidence", "add", "russia-iran", "--root", root, "--id", item_id,
                "--value", f"100-{400 + 100 * worker + round_}"]
        for key in ("reported_on", "period_start", "period_end", "indicator", "unit",
                    "source", "reliability"):
            args += [f"--{key.replace('_', '-')}", ROW[key]]
        try:
            main.main(args, standalone_mode=False)
        except SystemExit as exc:  # the command line exits 0 or 2
            if exc.code not in (0, None):
                raise


def test_eight_writers_for_ten_rounds_lose_nothing(case_root: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start, barrier = context.Event(), context.Barrier(WORKERS)
    processes = [context.Process(target=_add_rounds, args=(str(case_root), w, barrier, start))
                 for w in range(WORKERS)]
    for p in processes:
        p.start()
    start.set()
    for p in processes:
        p.join(600)
    assert [p.exitcode for p in processes] == [0] * WORKERS
    rows = _rows(case_root)
    expected = {f"W{w}R{r}" for w in range(WORKERS) for r in range(ROUNDS)}
    assert expected <= set(rows) and len(rows) == 17 + WORKERS * ROUNDS  # 0 lost
    assert [p.name for p in (case_root / "evidence").iterdir()] == ["russia-iran.csv"]


def test_adds_racing_retracts_keep_both(case_root: Path) -> None:
    jobs = [(_add, str(case_root), f"C{n}") for n in range(3)]
    jobs += [(_retract, str(case_root), f"E0{n}") for n in (2, 4, 6)]
    _run_at_once(jobs)
    rows = _rows(case_root)
    assert {"C0", "C1", "C2"} <= set(rows)
    assert [rows[f"E0{n}"]["status"] for n in (2, 4, 6)] == ["retracted"] * 3


def _save(root: str, scenario: str, weight: float, start) -> None:
    start.wait()
    save_priors(Path(root), "russia-iran", {scenario: weight}, {})


def test_priors_saves_at_once_keep_each_change(case_root: Path) -> None:
    _run_at_once([(_save, str(case_root), "defense_partnership", 0.2),
                  (_save, str(case_root), "drift", 0.3)])
    text = (case_root / "priors" / "russia-iran.yaml").read_text(encoding="utf-8")
    assert "weight: 0.2" in text and "weight: 0.3" in text


def _hold(lock_file: str, held, release) -> None:
    from filelock import FileLock

    with FileLock(lock_file):
        held.set()
        release.wait(30)


def test_a_writer_that_waits_too_long_gets_a_message_and_changes_nothing(case_root: Path) -> None:
    from toolkit.core.errors import CaseError
    from toolkit.core.locks import lock_path, locked

    ledger = case_root / "evidence" / "russia-iran.csv"
    lock_file = lock_path(case_root, ledger)
    assert lock_file == case_root / ".locks" / "evidence-russia-iran.csv.lock"
    lock_file.parent.mkdir()
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(lock_file), held, release))
    holder.start()
    try:
        assert held.wait(30)
        before = ledger.read_bytes()
        try:
            with locked(lock_file, "evidence/russia-iran.csv", timeout=0.2):
                raise AssertionError("the lock was taken while another process held it")
        except CaseError as exc:
            assert "evidence/russia-iran.csv: another process has been changing this file " \
                   "for over 0.2 s" in str(exc)
            assert "wait for it to finish and try again" in str(exc)
        assert ledger.read_bytes() == before
    finally:
        release.set()
        holder.join(30)


def _report(root: str, out: str, seed: int, start, results) -> None:
    import datetime as dt

    from toolkit.core.errors import CaseError
    from toolkit.model.case import load_case
    from toolkit.outputs.forecast import run_forecast
    from toolkit.outputs.report import export_charts

    case = load_case(Path(root), "russia-iran")
    forecast = run_forecast(case, as_of=dt.date(2026, 12, 1), seed=seed)
    start.wait()
    try:
        export_charts(forecast, Path(out), ["svg"], case)
        results.put((seed, "written"))
    except CaseError:
        results.put((seed, "refused"))


def test_two_reports_of_different_runs_into_one_folder_do_not_mix(case_root: Path,
                                                                  tmp_path: Path) -> None:
    import json

    out = tmp_path / "out"
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    processes = [context.Process(target=_report, args=(str(case_root), str(out), seed, start,
                                                        results)) for seed in (1, 2)]
    for p in processes:
        p.start()
    start.set()
    for p in processes:
        p.join(180)
    outcome = dict(results.get(timeout=5) for _ in processes)
    assert sorted(outcome.values()) == ["refused", "written"]
    winner = next(seed for seed, what in outcome.items() if what == "written")
    manifest = json.loads(next(out.glob("*-manifest.json")).read_text(encoding="utf-8"))
    assert manifest["fingerprint"]["seed"] == winner
    digests = manifest["files"]
    import hashlib
    for name, digest in digests.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
