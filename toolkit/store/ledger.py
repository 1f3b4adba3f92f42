"""Changes to the evidence ledger: append an item, retract an item. Both are atomic.

A change is validated against the whole case before anything is written; a refused change
leaves the file byte-for-byte unchanged. Items are never deleted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from toolkit.core.atomic import remove_abandoned, rewrite_text_atomic
from toolkit.core.errors import CaseError, Problem
from toolkit.core.locks import lock_path, locked
from toolkit.core.yamlio import read_utf8
from toolkit.model.case import CasePaths, load_case
from toolkit.model.evidence import COLUMNS, EvidenceItem, with_status


def _read_ledger(paths: CasePaths) -> str:
    text, problems = read_utf8(paths.evidence, paths.shown(paths.evidence))
    if text is None:
        raise CaseError(problems)
    return text


def _write_ledger(paths: CasePaths, text: str) -> None:
    """Write the ledger atomically (keeping its byte-order mark); the caller holds the lock.

    Temporary files of writers killed earlier are removed first.
    """
    remove_abandoned(paths.evidence.parent)
    rewrite_text_atomic(paths.evidence, text)


def _line_ending(text: str) -> str:
    """The ledger's own line ending (that of its header row): CRLF or LF."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def _header(text: str) -> list[str]:
    return [h.strip() for h in next(csv.reader(io.StringIO(text)))]


def _row_text(header: list[str], cells: dict[str, str], ending: str = "\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=ending).writerow([cells.get(col, "") for col in header])
    return buffer.getvalue()


def append_item(root: Path, case: str, cells: dict[str, str]) -> EvidenceItem:
    """Validate a new evidence row against the whole case and append it atomically.

    Parameters
    ----------
    root : Path
        Case root.
    case : str
        Case slug.
    cells : dict
        Column values; ``status`` defaults to ``active`` and ``note`` to empty.

    Returns
    -------
    EvidenceItem
        The appended item.

    Raises
    ------
    CaseError
        If the row (or the case) has problems; the file is then untouched.
    """
    paths = CasePaths(root, case)
    cells = {"status": "active", "note": "", **cells}
    with locked(lock_path(root, paths.evidence), paths.shown(paths.evidence)):
        old = _read_ledger(paths) if paths.evidence.exists() else ",".join(COLUMNS) + "\n"
        ending = _line_ending(old)
        separator = "" if old.endswith("\n") else ending
        header = _header(old)
        shown = paths.shown(paths.evidence)
        dropped = [c for c, v in cells.items() if v and c not in header]
        if dropped:
            raise CaseError([Problem(shown, 1, ", ".join(dropped), "the ledger has no such "
                                     "column, so the value would be lost",
                                     f"add {', '.join(dropped)} to the header row (and an "
                                     "empty cell to each row), then add the item again")])
        new = old + separator + _row_text(header, cells, ending)
        checked = load_case(root, case, evidence_text=new)
        added = next(i for i in checked.evidence if i.id == cells["id"])
        twin = next((i for i in checked.evidence if i is not added and i.active
                     and i.claim_key == added.claim_key), None)
        if twin is not None:
            raise CaseError([Problem(shown, added.line, "value", f"repeats item {twin.id} "
                                     "(same indicator, source, period, value and unit)",
                                     f"it would count once anyway; if another outlet "
                                     f"re-reported it, cite that outlet's claim and pass "
                                     f"--echo-of {twin.id}")])
        _write_ledger(paths, new)
    return added


def retract_item(root: Path, case: str, item_id: str, reason: str = "") -> EvidenceItem:
    """Mark an item retracted (never deleted), rewriting only its own row, atomically.

    Runs under the ledger's write lock: concurrent adds and retracts are serialised.

    Parameters
    ----------
    root : Path
        Case root.
    case : str
        Case slug.
    item_id : str
        Evidence id.
    reason : str
        Appended to the item's note with today's date.

    Returns
    -------
    EvidenceItem
        The retracted item.

    Raises
    ------
    CaseError
        If the id is unknown or already retracted, or the case has problems.
    """
    paths = CasePaths(root, case)
    with locked(lock_path(root, paths.evidence), paths.shown(paths.evidence)):
        return _retract(root, case, item_id, reason)


def _retract(root: Path, case: str, item_id: str, reason: str) -> EvidenceItem:
    """Retract ``item_id``; the caller holds the ledger's write lock."""
    loaded = load_case(root, case)
    paths = loaded.paths
    shown = paths.shown(paths.evidence)
    matches = [i for i in loaded.evidence if i.id == item_id]
    if not matches:
        raise CaseError([Problem(shown, None, "id", f"no evidence item {item_id!r}",
                                 "check the id with 'scenarios evidence list'")])
    item = matches[0]
    if not item.active:
        raise CaseError([Problem(shown, item.line, "status", f"{item_id} is already retracted",
                                 "nothing to do")])
    text = _read_ledger(paths)
    lines = io.StringIO(text).readlines()  # split only at '\n', exactly as the csv reader
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    start = 2
    for row in reader:
        end = reader.line_num
        if start == item.line:
            cells = dict(zip(header, row, strict=True))
            cells["status"] = "retracted"
            if reason:
                stamp = f"[retracted {dt.date.today().isoformat()}: {reason}]"
                cells["note"] = f"{cells.get('note', '')} {stamp}".strip()
            ending = lines[end - 1][len(lines[end - 1].rstrip("\r\n")):] or "\n"
            replacement = _row_text(header, cells).rstrip("\n") + ending
            new = "".join(lines[: start - 1]) + replacement + "".join(lines[end:])
            break
        start = end + 1
    load_case(root, case, evidence_text=new)
    _write_ledger(paths, new)
    return with_status(item, "retracted")
