"""Saved runs: one reproducible folder per forecast, plus a row per scenario in the history.

``runs/<case>/<run-id>/`` holds

* ``forecast.json`` - the forecast (``Forecast.to_dict``, or the dynamic model's
  ``DynamicForecast.to_dict``: its ``model`` is ``dynamic``);
* ``manifest.json`` - input file hashes, package versions, engine, seed, diagnostics, time
  and command;
* ``posterior.zarr`` - the engine's posterior (PyMC engine only), loadable with
  ``arviz.from_zarr``.

The folder is written under a hidden temporary name in ``runs/<case>/``
(``.partial-<run-id>-<host>-<pid>-<random>``) and renamed into place in one step, so an
interrupted save leaves no half-written run; the history rows (:mod:`toolkit.store.history`)
are inserted in one transaction afterwards. A save killed in between (``kill -9``) is mended
by the next save or history read: :func:`reconcile_history` removes the partial folders of
dead writers and records complete runs the history lacks. Loading a run compares its input
hashes with the files as they are now and says which ones changed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from toolkit.core.atomic import (
    new_folder_mode,
    remove_abandoned,
    write_text_atomic,
    writer_tag,
)
from toolkit.core.errors import CaseError, Problem
from toolkit.core.jsonio import dumps
from toolkit.model.case import _hash
from toolkit.store.history import (
    check_history,
    history_path,
    insert_rows,
    payload_rows,
    record_run,
    recorded_runs,
)

RUNS_DIR = "runs"
MANIFEST = "manifest.json"
FORECAST = "forecast.json"
POSTERIOR = "posterior.zarr"
#: Folders of saves in progress (or killed): ``.partial-<run-id>-<host>-<pid>-<random>``.
PARTIAL = re.compile(
    r"^\.partial-[^-]+-[0-9a-f]+-(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-[A-Za-z0-9_]+$")
PACKAGES = ("numpy", "scipy", "pandas", "pydantic", "pymc", "pytensor", "nutpie", "arviz",
            "arviz-base", "arviz-stats", "xarray", "zarr")


def runs_dir(root: Path | str, case: str) -> Path:
    """``<root>/runs/<case>``."""
    return Path(root) / RUNS_DIR / case


def package_versions() -> dict[str, str]:
    """Versions of Python, the toolkit and the numerical packages (``None`` if missing)."""
    from toolkit import __version__

    out = {"python": platform.python_version(), "toolkit": __version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique id: UTC time (ms) plus random hex, e.g. ``20261128T021500123Z-3fa2c1``."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def save_run(forecast: Any, root: Path | str, command: str | None = None) -> str:
    """Save ``forecast`` as ``runs/<case>/<run-id>/`` and add its history rows.

    Parameters
    ----------
    forecast : Forecast
        The forecast to save; ``forecast.extras["run_id"]`` is set.
    root : Path or str
        The case root (folder holding ``priors/``); runs go to ``<root>/runs``.
    command : str, optional
        The command that produced it (default: this process's command line).

    Returns
    -------
    str
        The run id.
    """
    check_history(history_path(root))  # a broken history stops the run before its folder
    reconcile_history(root, forecast.case)
    now = dt.datetime.now(dt.UTC)
    run_id = new_run_id(now)
    parent = runs_dir(root, forecast.case)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".partial-{run_id}-{writer_tag()}-", dir=parent))
    try:
        posterior = forecast.extras.get("posterior")
        if posterior is not None:
            with warnings.catch_warnings():
                # zarr 3 notes that consolidated metadata is not in the zarr v3 spec yet
                warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
                posterior.to_zarr(tmp / POSTERIOR)
        payload = forecast.to_dict()
        payload["run_id"] = run_id
        write_text_atomic(tmp / FORECAST, dumps(payload, indent=2))
        manifest = {
            "run_id": run_id,
            "case": forecast.case,
            "created": now.isoformat(timespec="microseconds"),
            "engine": forecast.engine,
            "model": getattr(forecast, "model", "static"),
            "seed": int(forecast.seed),
            "as_of": forecast.as_of.isoformat(),
            "evidence_used": forecast.item_ids,
            "inputs": dict(forecast.input_hashes),
            "packages": package_versions(),
            "diagnostics": payload["diagnostics"],
            "converged": forecast.converged,
            "probabilities": {s["id"]: s["probability"] for s in payload["scenarios"]},
            "posterior": POSTERIOR if posterior is not None else None,
            "command": command if command is not None else " ".join(
                [Path(sys.argv[0]).name, *sys.argv[1:]]),
        }
        write_text_atomic(tmp / MANIFEST, dumps(manifest, indent=2))
        os.chmod(tmp, new_folder_mode())
        os.rename(tmp, parent / run_id)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    record_run(history_path(root), run_id, manifest["created"], forecast)
    forecast.extras["run_id"] = run_id
    return run_id


def reconcile_history(root: Path | str, case: str) -> list[str]:
    """Mend what killed saves left: partial folders of dead writers, unrecorded runs.

    Returns
    -------
    list of str
        Ids of the complete runs whose history rows were missing and are now inserted.
    """
    folder = runs_dir(root, case)
    remove_abandoned(folder, (PARTIAL,))
    path = history_path(root)
    known = recorded_runs(path, case)
    added = []
    for run_id in list_runs(root, case):
        if run_id in known:
            continue
        try:
            manifest = json.loads((folder / run_id / MANIFEST).read_text(encoding="utf-8"))
            payload = json.loads((folder / run_id / FORECAST).read_text(encoding="utf-8"))
            rows = payload_rows(run_id, manifest["created"], payload)
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            continue  # a damaged run stays out of the history; load_run names it
        if insert_rows(path, rows):
            added.append(run_id)
    return added


def list_runs(root: Path | str, case: str) -> list[str]:
    """Ids of the complete saved runs of ``case``, oldest first."""
    folder = runs_dir(root, case)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).exists())


@dataclass
class SavedRun:
    """A run read back from disk, with what changed in its inputs since."""

    run_id: str
    path: Path
    manifest: dict[str, Any]
    forecast: dict[str, Any]
    changed: dict[str, str]

    @property
    def inputs_changed(self) -> bool:
        """Whether any input file differs from when the run was made."""
        return bool(self.changed)

    @property
    def message(self) -> str:
        """A plain sentence saying whether the inputs still match."""
        if not self.changed:
            return f"run {self.run_id}: inputs unchanged since the run"
        listed = ", ".join(f"{name} ({how})" for name, how in sorted(self.changed.items()))
        return (f"run {self.run_id}: INPUTS CHANGED since this run was made: {listed}; "
                "rerun the forecast to use the current files")

    def posterior(self) -> Any:
        """The saved posterior as an ArviZ DataTree (``None`` if the engine saved none)."""
        if not self.manifest.get("posterior"):
            return None
        import arviz as az

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
            return az.from_zarr(str(self.path / self.manifest["posterior"]))


def load_run(root: Path | str, case: str, run_id: str) -> SavedRun:
    """Read a saved run and compare its input hashes with the current files.

    Parameters
    ----------
    root : Path or str
        The case root.
    case : str
        Case name.
    run_id : str
        The run's id.

    Returns
    -------
    SavedRun
        Manifest, forecast and ``changed``: file -> ``modified``, ``missing`` or ``added``.

    Raises
    ------
    FileNotFoundError
        If there is no such run.
    """
    root = Path(root)
    path = runs_dir(root, case) / run_id
    if not (path / MANIFEST).exists():
        raise FileNotFoundError(f"no saved run {run_id!r} for case {case!r} under {root}")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        forecast = json.loads((path / FORECAST).read_text(encoding="utf-8"))
        changed = changed_inputs(root, case, manifest["inputs"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        shown = f"{RUNS_DIR}/{case}/{run_id}"
        raise CaseError([Problem(shown, None, "", f"is a damaged saved run ({exc!r})",
                                 f"delete the folder {shown} (its forecast can be rerun with "
                                 "'scenarios forecast')")]) from None
    return SavedRun(run_id, path, manifest, forecast, changed)


def changed_inputs(root: Path, case: str, saved: dict[str, str]) -> dict[str, str]:
    """Which of the saved input files differ now: ``modified``, ``missing`` or ``added``."""
    changed = {}
    for name, digest in saved.items():
        path = Path(name) if Path(name).is_absolute() else root / name
        if not path.exists():
            changed[name] = "missing"
        elif _hash(path) != digest:
            changed[name] = "modified"
    for path in sorted((root / "seeds" / case).glob("*.y*ml")):
        name = str(path.relative_to(root))
        if name not in saved:
            changed[name] = "added"
    return changed
