"""Write adjusted priors back to ``priors/<case>.yaml``, keeping the file as the analyst wrote it.

Only the numbers that changed are rewritten, in place: ruamel composes the document to find
the exact character span of each value, and the new value replaces that span and nothing
else, so comments, key order, flow-style alignment, quoting and line breaks all survive.
A key that is missing (``per`` left to its default) is inserted beside its siblings.
The candidate text is validated with the same loader as the command line
(:func:`toolkit.model.case.load_case`) before anything is written; the old file is kept as a
timestamped backup ``priors/<case>.yaml.<UTC time>.bak``; both writes are atomic.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from toolkit.core.atomic import remove_abandoned, rewrite_text_atomic, write_bytes_atomic
from toolkit.core.errors import CaseError, Problem
from toolkit.core.locks import lock_path, locked
from toolkit.core.yamlio import read_utf8
from toolkit.model.case import CasePaths, load_case

#: Expectation fields the editor may change.
EDITABLE = ("low", "high", "per")
PERIODS = ("day", "week", "month", "quarter", "year")

Weights = Mapping[str, float]
Expectations = Mapping[tuple[str, str], Mapping[str, float | str]]


@dataclass(frozen=True)
class SavedPriors:
    """What :func:`save_priors` did.

    Parameters
    ----------
    path : Path
        The priors file.
    backup : Path or None
        Copy of the previous file (``None`` when nothing changed and nothing was written).
    changes : list of str
        One line per changed value, e.g. ``scenarios.drift.weight: 0.25 -> 0.3``.
    """

    path: Path
    backup: Path | None
    changes: list[str]


def format_number(value: float) -> str:
    """Render a number as a short plain YAML scalar (``300``, ``0.26``, ``0.005``).

    Raises
    ------
    ValueError
        If ``value`` is not finite.
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.10g}"
    if "e" in text:  # plain decimals only: YAML 1.1 readers take 1e-07 for a string
        text = np.format_float_positional(float(text), trim="-")
    return text


class _Editor:
    """Collects span replacements against one text and applies them together."""

    def __init__(self, text: str, shown: str):
        self.text = text
        self.shown = shown
        self.root = YAML(typ="rt").compose(io.StringIO(text))
        self.edits: list[tuple[int, int, str]] = []
        self.changes: list[str] = []
        self.problems: list[Problem] = []

    def problem(self, node: Node | None, field: str, message: str, fix: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(Problem(self.shown, line, field, message, fix))

    @staticmethod
    def child(node: Node | None, key: str) -> tuple[ScalarNode | None, Node | None]:
        if not isinstance(node, MappingNode):
            return None, None
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return key_node, value_node
        return None, None

    def set_scalar(self, mapping: MappingNode, key: str, new: str, field: str) -> None:
        """Replace ``mapping[key]``'s text with ``new``, or insert the key if absent."""
        _, value_node = self.child(mapping, key)
        if value_node is None:
            self._insert(mapping, key, new)
            self.changes.append(f"{field}: (unset) -> {new}")
            return
        if not isinstance(value_node, ScalarNode):
            self.problem(value_node, field, "is not a single value", "edit this entry by hand")
            return
        if _same(value_node.value, new):
            return
        start, end = value_node.start_mark.index, value_node.end_mark.index
        self.edits.append(self._realigned(start, end, new))
        self.changes.append(f"{field}: {value_node.value} -> {new}")

    def _realigned(self, start: int, end: int, new: str) -> tuple[int, int, str]:
        """Replace ``start:end`` by ``new``, keeping the column of what follows when padded."""
        gap = end + 1 if self.text[end:end + 1] == "," else end
        stop = gap
        while self.text[stop:stop + 1] == " ":
            stop += 1
        padding = stop - gap
        if padding < 2 or self.text[stop:stop + 1] in ("", "\n", "\r"):
            return start, end, new
        spaces = " " * max(1, padding + (end - start) - len(new))
        return start, stop, new + self.text[end:gap] + spaces

    def _insert(self, mapping: MappingNode, key: str, new: str) -> None:
        last_key, last_value = mapping.value[-1]
        if mapping.flow_style:
            at = last_value.end_mark.index
            self.edits.append((at, at, f", {key}: {new}"))
            return
        at = last_value.end_mark.index
        if self.text[at - 1:at] != "\n":
            newline = self.text.find("\n", at)
            at = len(self.text) if newline < 0 else newline + 1
        prefix = "" if self.text[at - 1:at] in ("\n", "") else "\n"
        indent = " " * last_key.start_mark.column
        self.edits.append((at, at, f"{prefix}{indent}{key}: {new}\n"))

    def result(self) -> str:
        if self.problems:
            raise CaseError(self.problems)
        text = self.text
        for start, end, new in sorted(self.edits, reverse=True):
            text = text[:start] + new + text[end:]
        return text


def _same(old: str, new: str) -> bool:
    try:
        return float(old) == float(new)
    except ValueError:
        return old.strip() == new.strip()


def edit_priors_text(
    text: str,
    weights: Weights | None = None,
    expectations: Expectations | None = None,
    shown: str = "priors",
) -> tuple[str, list[str]]:
    """Return ``text`` with scenario weights and expectation intervals replaced.

    Parameters
    ----------
    text : str
        The priors YAML as written.
    weights : mapping, optional
        Scenario id -> new prior weight (need not be normalised).
    expectations : mapping, optional
        ``(indicator, scenario)`` -> ``{"low": ..., "high": ..., "per": ...}`` (any subset).
    shown : str
        How the file is named in problems.

    Returns
    -------
    tuple
        ``(new_text, changes)``; ``changes`` lists each value that differs from ``text``.

    Raises
    ------
    CaseError
        If a scenario, indicator or field is unknown, a value is not a finite number, or an
        expectation given as a distribution is asked for an interval.
    """
    editor = _Editor(text, shown)
    root = editor.root
    _, scenarios = editor.child(root, "scenarios")
    by_id: dict[str, MappingNode] = {}
    if isinstance(scenarios, SequenceNode):
        for entry in scenarios.value:
            _, id_node = editor.child(entry, "id")
            if isinstance(id_node, ScalarNode):
                by_id[id_node.value] = entry
    for sid, weight in (weights or {}).items():
        field = f"scenarios.{sid}.weight"
        if sid not in by_id:
            editor.problem(scenarios, field, f"no scenario {sid!r}",
                           f"use one of: {', '.join(by_id) or '(none)'}")
            continue
        new = _number(editor, by_id[sid], field, weight)
        if new is not None and float(new) < 0:
            editor.problem(by_id[sid], field, f"weight {new} is negative", "use a weight >= 0")
        elif new is not None:
            editor.set_scalar(by_id[sid], "weight", new, field)
    _, table = editor.child(root, "expectations")
    for (indicator, sid), fields in (expectations or {}).items():
        _, row = editor.child(table, indicator)
        _, entry = editor.child(row, sid)
        where = f"expectations.{indicator}.{sid}"
        if not isinstance(entry, MappingNode):
            editor.problem(row if row is not None else table, where, "no such expectation",
                           "use an indicator and scenario that the priors file lists")
            continue
        for name, value in fields.items():
            field = f"{where}.{name}"
            if name not in EDITABLE:
                editor.problem(entry, field, f"cannot edit {name!r}",
                               f"edit only {', '.join(EDITABLE)}")
            elif name == "per":
                if value not in PERIODS:
                    editor.problem(entry, field, f"{value!r} is not a period",
                                   f"use one of: {', '.join(PERIODS)}")
                else:
                    editor.set_scalar(entry, name, str(value), field)
            elif editor.child(entry, "low")[1] is None:
                editor.problem(entry, field, "is given as a distribution, not an interval",
                               "edit the distribution in the file by hand")
            elif (new := _number(editor, entry, field, value)) is not None:
                editor.set_scalar(entry, name, new, field)
    return editor.result(), editor.changes


def _number(editor: _Editor, node: Node, field: str, value: float | str) -> str | None:
    try:
        return format_number(float(value))
    except (TypeError, ValueError):
        editor.problem(node, field, f"{value!r} is not a finite number", "enter a number")
        return None


def backup_path(priors: Path, now: dt.datetime | None = None) -> Path:
    """A new, unused backup name ``<file>.<UTC time>.bak`` beside ``priors``."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    candidate = priors.with_name(f"{priors.name}.{stamp}.bak")
    counter = 1
    while candidate.exists():
        candidate = priors.with_name(f"{priors.name}.{stamp}-{counter}.bak")
        counter += 1
    return candidate


def save_priors(
    root: Path,
    case: str,
    weights: Weights | None = None,
    expectations: Expectations | None = None,
    expected_sha256: str | None = None,
) -> SavedPriors:
    """Validate and write adjusted priors, keeping a backup of the previous file.

    Parameters
    ----------
    root : Path
        Case root (holds ``priors/``).
    case : str
        Case slug.
    weights : mapping, optional
        Scenario id -> prior weight.
    expectations : mapping, optional
        ``(indicator, scenario)`` -> ``{"low", "high", "per"}`` (any subset).
    expected_sha256 : str, optional
        The file's hash when the caller read it: if the file changed since (another edit),
        nothing is written and :class:`CaseError` says so, never a blind overwrite.

    Returns
    -------
    SavedPriors
        The file, its backup, and the list of changed values. Nothing is written when no
        value changed.

    Raises
    ------
    CaseError
        If an edit is impossible or the edited case does not validate; the file is then
        untouched.
    """
    paths = CasePaths(root, case)
    shown = paths.shown(paths.priors)
    with locked(lock_path(root, paths.priors), shown):
        if expected_sha256 is not None and paths.priors.exists() and hashlib.sha256(
                paths.priors.read_bytes()).hexdigest() != expected_sha256:
            raise CaseError([Problem(shown, None, "", "changed on disk since it was loaded "
                                     "(another edit or save), so saving would overwrite "
                                     "that change", "reload the file (the dashboard's Reload "
                                     "files button), then make your changes again")])
        old, problems = read_utf8(paths.priors, shown)
        if old is None:
            raise CaseError(problems)
        new, changes = edit_priors_text(old, weights, expectations, shown)
        if not changes:
            return SavedPriors(paths.priors, None, [])
        load_case(root, case, priors_text=new)
        remove_abandoned(paths.priors.parent)
        backup = backup_path(paths.priors)
        write_bytes_atomic(backup, paths.priors.read_bytes())
        rewrite_text_atomic(paths.priors, new)
    return SavedPriors(paths.priors, backup, changes)
