"""Which run wrote a report folder's files: the sidecar manifest and the overwrite guard.

``<case>-<as-of>-manifest.json`` records the run's fingerprint (inputs, engine, seed,
weights, level) and the files it wrote with their hashes. :func:`check_outputs` refuses to
replace files of a different run (or of an unknown one) unless forced; the report calls it
and :func:`write_manifest` under the folder's lock (:mod:`toolkit.core.locks`).

The manifest is written twice: before the first file, listing the files about to be written
(``"complete": false``, no hashes yet), and after the last. A report killed in between
leaves a manifest that still names its run, so the identical rerun goes ahead without
``--force`` while a different run is refused as before.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from toolkit import __version__
from toolkit.core.atomic import remove_abandoned, write_text_atomic
from toolkit.core.errors import CaseError, Problem, display_path
from toolkit.core.jsonio import dumps
from toolkit.outputs.forecast import Forecast

MANIFEST_VERSION = 1


def output_path(out_dir: Path, forecast: Forecast, what: str, ext: str) -> Path:
    """Stable file name ``<case>-<as-of>-<what>.<ext>``."""
    return Path(out_dir) / f"{forecast.case}-{forecast.as_of.isoformat()}-{what}.{ext}"


def manifest_path(out_dir: Path, forecast: Forecast) -> Path:
    """The sidecar manifest recording which run wrote the files."""
    return output_path(out_dir, forecast, "manifest", "json")


def fingerprint(forecast: Forecast, report_inputs: dict[str, str] | None = None) -> dict[str, Any]:
    """What makes two reports the same run for the purpose of overwriting files.

    Parameters
    ----------
    forecast : Forecast
        The forecast reported.
    report_inputs : dict, optional
        Hashes of further files the report reads (the questions file, see
        :func:`report_inputs`), recorded with the forecast's input hashes.
    """
    inputs = {**forecast.input_hashes, **(report_inputs or {})}
    return {
        "case": forecast.case,
        "as_of": forecast.as_of.isoformat(),
        "engine": forecast.engine,
        "seed": int(forecast.seed),
        "inputs": dict(sorted(inputs.items())),
        "weights": [round(float(w), 10) for w in forecast.prior],
        "level": float(forecast.interval_level),
    }


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    changed = []
    for key in ("engine", "seed"):
        if old.get(key) != new.get(key):
            changed.append(f"{key} {old.get(key)} -> {new.get(key)}")
    if old.get("inputs") != new.get("inputs"):
        changed.append("different case files")
    if old.get("weights") != new.get("weights"):
        changed.append("different prior weights")
    if old.get("level") != new.get("level"):
        changed.append("different interval level")
    return ", ".join(changed) or "a different run"


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_outputs(out_dir: Path, forecast: Forecast, targets: list[Path],
                  force: bool = False, inputs: dict[str, str] | None = None) -> dict[str, str]:
    """Refuse to replace files that a different run wrote.

    Parameters
    ----------
    out_dir : Path
        The output folder.
    forecast : Forecast
        The run about to write.
    targets : list of Path
        Files it will write.
    force : bool
        Replace them anyway.
    inputs : dict, optional
        Hashes of further files the report reads (:func:`report_inputs`).

    Returns
    -------
    dict
        Files (name -> sha256) already recorded for this same run, to keep in the manifest.

    Raises
    ------
    CaseError
        Naming the files, when they came from a different run or from an unknown one.
    """
    path = manifest_path(out_dir, forecast)
    manifest = _read_manifest(path) if path.exists() else None
    mine = fingerprint(forecast, inputs)
    if manifest is not None and manifest.get("fingerprint") == mine:
        files = manifest.get("files", {})
        return {name: digest for name, digest in files.items()
                if isinstance(digest, str) and (out_dir / name).exists()} \
            if isinstance(files, dict) else {}
    if force:
        return {}
    existing = [t for t in targets if t.exists()]
    if manifest is not None:
        recorded = manifest.get("files", {})
        existing += [out_dir / name for name in (recorded if isinstance(recorded, dict) else {})
                     if (out_dir / name).exists() and out_dir / name not in existing]
        previous = manifest.get("fingerprint") or {}
        reason = f"they came from a different run ({_differences(previous, mine)})"
    else:
        if path.exists():
            existing.append(path)
        reason = "no manifest says which run wrote them"
    if not existing:
        return {}
    names = ", ".join(sorted(p.name for p in existing))
    raise CaseError([Problem(
        display_path(Path(out_dir)), None, "--out",
        f"will not overwrite {len(existing)} existing file(s), because {reason}: {names}",
        "pass --force to replace them, or write to another folder with --out")])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(out_dir: Path, forecast: Forecast, kept: dict[str, str],
                   written: list[Path], inputs: dict[str, str] | None = None,
                   planned: list[Path] | None = None) -> Path:
    """Record which run wrote ``written`` (and the ``kept`` files of the same run).

    With ``planned``, the manifest written before any file: those files are named with no
    hash and the manifest is marked incomplete.
    """
    files: dict[str, str | None] = dict(kept)
    files.update({p.name: None for p in planned or []})
    files.update({p.name: _sha256(p) for p in written})
    document = {
        "schema_version": MANIFEST_VERSION,
        "generator": f"scenario-toolkit {__version__}",
        "fingerprint": fingerprint(forecast, inputs),
        "run_id": forecast.extras.get("run_id"),
        "complete": planned is None,
        "files": dict(sorted(files.items())),
    }
    path = manifest_path(out_dir, forecast)
    write_text_atomic(path, dumps(document, indent=2, sort_keys=False) + "\n")
    return path


def begin_outputs(out_dir: Path, forecast: Forecast, kept: dict[str, str],
                  planned: list[Path], inputs: dict[str, str] | None = None) -> None:
    """Before the first file: clear a killed writer's leftovers, write the pending manifest."""
    remove_abandoned(out_dir)
    write_manifest(out_dir, forecast, kept, [], inputs, planned=planned)
