"""The history of saved forecasts: one SQLite row per run and scenario.

``runs/history.sqlite`` holds table ``forecasts``. A run's rows are inserted in one
transaction (all of them or none, SQLite's own atomic commit), after its run folder is in
place, so the table never names a run that was not saved completely. :func:`history_table`
gives it to pandas users as a tidy DataFrame.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.core.errors import CaseError, Problem

HISTORY_FILE = "history.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS forecasts (
    run_id TEXT NOT NULL,
    case_name TEXT NOT NULL,
    created TEXT NOT NULL,
    engine TEXT NOT NULL,
    seed INTEGER NOT NULL,
    as_of TEXT NOT NULL,
    n_items INTEGER NOT NULL,
    converged INTEGER NOT NULL,
    scenario TEXT NOT NULL,
    label TEXT NOT NULL,
    position INTEGER NOT NULL,
    prior REAL NOT NULL,
    probability REAL NOT NULL,
    interval_lo REAL NOT NULL,
    interval_hi REAL NOT NULL,
    PRIMARY KEY (run_id, scenario)
);
CREATE INDEX IF NOT EXISTS forecasts_case ON forecasts (case_name, created);
"""


def history_path(root: Path | str) -> Path:
    """``<root>/runs/history.sqlite``."""
    return Path(root) / "runs" / HISTORY_FILE


def _connect(path: Path) -> sqlite3.Connection:
    """Open the history (created if missing); :class:`CaseError` if it is not one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.executescript(_SCHEMA)
        connection.execute("SELECT run_id, case_name, created, engine, seed, as_of, n_items, "
                           "converged, scenario, label, position, prior, probability, "
                           "interval_lo, interval_hi FROM forecasts LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        connection.close()
        shown = f"{path.parent.name}/{path.name}"
        raise CaseError([Problem(shown, None, "", f"is not a readable run history ({exc})",
                                 f"move it aside (e.g. rename it to {path.name}.broken); the "
                                 "next saved run starts a new one")]) from None
    return connection


def check_history(path: Path | str) -> None:
    """Raise :class:`CaseError` unless the history at ``path`` can be written (before a run)."""
    with closing(_connect(Path(path))):
        pass


def payload_rows(run_id: str, created: str, payload: dict[str, Any]) -> list[tuple]:
    """History rows of a forecast in its saved form (``Forecast.to_dict``, ``forecast.json``)."""
    engine = payload["engine"]
    if payload.get("model", "static") != "static":  # the dynamic model: "pymc (dynamic)"
        engine = f"{engine} ({payload['model']})"
    return [
        (run_id, payload["case"], created, engine, int(payload["seed"]),
         payload["as_of"], len(payload["evidence_used"]), int(bool(payload["converged"])),
         s["id"], s["label"], k, float(s["prior"]), float(s["probability"]),
         float(s["interval"][0]), float(s["interval"][1]))
        for k, s in enumerate(payload["scenarios"])
    ]


def insert_rows(path: Path | str, rows: list[tuple]) -> int:
    """Insert one run's rows in a single transaction, unless that run is already recorded.

    Returns
    -------
    int
        Rows inserted (0 when another process recorded the run first, see
        :func:`toolkit.store.runs.reconcile_history`).
    """
    if not rows:
        return 0
    with closing(_connect(Path(path))) as connection, connection:
        connection.execute("BEGIN IMMEDIATE")
        if connection.execute("SELECT 1 FROM forecasts WHERE run_id = ? LIMIT 1",
                              (rows[0][0],)).fetchone():
            return 0
        connection.executemany(
            "INSERT INTO forecasts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def record_run(path: Path | str, run_id: str, created: str, forecast: Any) -> int:
    """Insert one row per scenario of ``forecast`` in a single transaction.

    Parameters
    ----------
    path : Path or str
        The SQLite file.
    run_id : str
        The saved run's id.
    created : str
        ISO timestamp of the run.
    forecast : Forecast
        The forecast saved.

    Returns
    -------
    int
        Rows inserted (0 if the run was recorded already).
    """
    return insert_rows(path, payload_rows(run_id, created, forecast.to_dict()))


def recorded_runs(path: Path | str, case: str) -> set[str]:
    """Ids of the runs of ``case`` the history holds."""
    path = Path(path)
    if not path.exists():
        return set()
    with closing(_connect(path)) as connection:
        return {run_id for (run_id,) in connection.execute(
            "SELECT DISTINCT run_id FROM forecasts WHERE case_name = ?", (case,))}


def read_history(path: Path | str, case: str) -> list[dict[str, Any]]:
    """The saved forecasts of ``case``, oldest first, one dict per run.

    Returns
    -------
    list of dict
        ``run_id``, ``created``, ``engine``, ``seed``, ``as_of``, ``n_items``, ``converged``
        and ``scenarios``: a list of ``{id, label, prior, probability, interval}`` in
        scenario order.
    """
    path = Path(path)
    if not path.exists():
        return []
    with closing(_connect(path)) as connection:
        cursor = connection.execute(
            "SELECT run_id, created, engine, seed, as_of, n_items, converged, scenario, label,"
            " prior, probability, interval_lo, interval_hi FROM forecasts WHERE case_name = ?"
            " ORDER BY created, run_id, position", (case,))
        runs: dict[str, dict[str, Any]] = {}
        for (run_id, created, engine, seed, as_of, n_items, converged, scenario, label, prior,
             probability, lo, hi) in cursor:
            run = runs.setdefault(run_id, {
                "run_id": run_id, "created": created, "engine": engine, "seed": seed,
                "as_of": as_of, "n_items": n_items, "converged": bool(converged),
                "scenarios": []})
            run["scenarios"].append({"id": scenario, "label": label, "prior": prior,
                                     "probability": probability, "interval": [lo, hi]})
    return list(runs.values())


def history_table(path: Path | str, case: str) -> pd.DataFrame:
    """:func:`read_history` as a tidy DataFrame: one row per saved run and scenario.

    Returns
    -------
    DataFrame
        ``run_id``, ``created`` and ``as_of`` (timestamps), ``engine``, ``seed``,
        ``n_items``, ``converged``, ``scenario``, ``label``, ``prior``, ``probability``,
        ``interval_low``, ``interval_high``; oldest run first, scenarios in priors order.
    """
    columns = ["run_id", "created", "as_of", "engine", "seed", "n_items", "converged",
               "scenario", "label", "prior", "probability", "interval_low", "interval_high"]
    rows = [{**{k: run[k] for k in columns[:7]}, "scenario": s["id"], "label": s["label"],
             "prior": s["prior"], "probability": s["probability"],
             "interval_low": s["interval"][0], "interval_high": s["interval"][1]}
            for run in read_history(path, case) for s in run["scenarios"]]
    frame = pd.DataFrame(rows, columns=columns)
    frame["created"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601")
    frame["as_of"] = pd.to_datetime(frame["as_of"], format="ISO8601")
    return frame
