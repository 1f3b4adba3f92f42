"""Safe YAML reading with line numbers, and round-trip writing that keeps comments.

Case files are data, never code: any YAML tag, anchor or alias is refused before the
document is built, so no object can be smuggled in.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.tokens import AliasToken, AnchorToken, KeyToken, ScalarToken, TagToken

from toolkit.core.errors import Problem

SCHEMA_VERSION = 1
#: Plain scalars YAML reads as dates (ruamel raises ValueError when the date is impossible).
_DATE_LIKE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt \t]|$)")


def read_utf8(path: Path, shown: str) -> tuple[str | None, list[Problem]]:
    """Read ``path`` as UTF-8 text, or return a problem naming the bad line.

    Parameters
    ----------
    path : Path
        File to read.
    shown : str
        How the file is named in messages.

    Returns
    -------
    tuple
        ``(text, [])`` on success, ``(None, [problem])`` otherwise.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(shown, None, "", f"cannot be read ({exc.strerror})",
                              "check the path and permissions")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(shown, line, "", f"is not UTF-8 (byte 0x{raw[exc.start]:02x})",
                              "save the file as UTF-8")]
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        return None, [Problem(shown, None, "", "is empty", "fill it in or run 'scenarios new'")]
    return text, []


def _forbidden_tokens(text: str, shown: str) -> list[Problem]:
    problems = []
    yaml = YAML(typ="rt")
    names = {TagToken: "tag", AnchorToken: "anchor", AliasToken: "alias"}
    key, expect_key = "", False
    for token in yaml.scan(io.StringIO(text)):
        if isinstance(token, KeyToken):
            expect_key = True
        elif isinstance(token, ScalarToken):
            if expect_key:
                key, expect_key = str(token.value), False
            elif token.plain and (bad := _impossible_date(token.value)):
                problems.append(Problem(
                    shown, token.start_mark.line + 1, key, f"{bad!r} is not a valid date",
                    "write the date as YYYY-MM-DD"))
        kind = names.get(type(token))
        if kind is not None:
            problems.append(Problem(
                shown, token.start_mark.line + 1, "",
                f"YAML {kind} '{_token_text(token)}' is not allowed (case files are plain data)",
                f"remove the {kind} and write the value out in full",
            ))
    return problems


def _impossible_date(value: str) -> str | None:
    match = _DATE_LIKE.match(value)
    if match is None:
        return None
    try:
        dt.date(*map(int, match.groups()))
    except ValueError:
        return value
    return None


def _token_text(token: Any) -> str:
    value = token.value
    if isinstance(value, tuple):
        return "".join(part or "" for part in value)
    return str(value)


def load_yaml(path: Path, shown: str) -> tuple[Any, list[Problem]]:
    """Load a YAML file safely, keeping line information.

    Parameters
    ----------
    path : Path
        File to load.
    shown : str
        How the file is named in messages.

    Returns
    -------
    tuple
        ``(document, problems)``. The document is a ruamel round-trip object (mappings
        carry ``.lc`` line data) and is ``None`` when any problem was found.
    """
    text, problems = read_utf8(path, shown)
    if text is None:
        return None, problems
    return parse_yaml(text, shown)


def parse_yaml(text: str, shown: str) -> tuple[Any, list[Problem]]:
    """Parse YAML text safely, as :func:`load_yaml` does for a file's contents.

    Parameters
    ----------
    text : str
        The document (e.g. edited priors about to be saved).
    shown : str
        How the document is named in messages.

    Returns
    -------
    tuple
        ``(document, problems)``, as for :func:`load_yaml`.
    """
    text = text.removeprefix("\ufeff")
    try:
        problems = _forbidden_tokens(text, shown)
        if problems:
            return None, problems
        document = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = (exc.problem or exc.context or "invalid YAML").strip()
        return None, [Problem(shown, line, "", f"is not valid YAML: {reason}",
                              "fix the syntax at that line (indentation, colons, quotes)")]
    except YAMLError as exc:
        return None, [Problem(shown, None, "", f"is not valid YAML: {exc}", "fix the syntax")]
    except ValueError as exc:  # a scalar ruamel cannot construct (e.g. an impossible time)
        return None, [Problem(shown, None, "", f"holds a value YAML cannot read ({exc})",
                              "quote the value or correct it")]
    except RecursionError:  # the parser recurses once per level of nesting
        return None, [_too_deep(shown)]
    if _depth(document) > MAX_DEPTH:
        return None, [_too_deep(shown)]
    if document is None:
        return None, [Problem(shown, None, "", "is empty", "fill it in or run 'scenarios new'")]
    if not isinstance(document, CommentedMap):
        return None, [Problem(shown, 1, "", "must be a YAML mapping (key: value lines)",
                              "start the file with 'schema_version: 1'")]
    return document, []


#: The deepest nesting of lists and mappings a case file may have (they need about 5).
MAX_DEPTH = 50


def _too_deep(shown: str) -> Problem:
    return Problem(shown, None, "", f"nests lists or mappings more than {MAX_DEPTH} levels "
                   "deep", "flatten it: case files need a handful of levels (see docs/formats.md)")


def _depth(document: Any) -> int:
    """How deeply lists and mappings nest in ``document`` (without recursion)."""
    deepest, stack = 0, [(document, 0)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        if isinstance(node, dict):
            stack += [(v, level + 1) for v in node.values()]
        elif isinstance(node, list):
            stack += [(v, level + 1) for v in node]
    return deepest


def check_schema_version(document: CommentedMap, shown: str) -> list[Problem]:
    """Return a problem unless ``schema_version`` equals the supported version."""
    version = document.get("schema_version")
    if version == SCHEMA_VERSION and not isinstance(version, bool):
        return []
    line = line_of(document, ("schema_version",)) if "schema_version" in document else 1
    got = "missing" if version is None else f"got {version!r}"
    return [Problem(shown, line, "schema_version",
                    f"must be {SCHEMA_VERSION} ({got})",
                    f"put 'schema_version: {SCHEMA_VERSION}' at the top of the file")]


def line_of(document: Any, path: tuple[Any, ...]) -> int | None:
    """Return the 1-based line of the deepest existing node along ``path``.

    Parameters
    ----------
    document : Any
        A round-trip YAML document.
    path : tuple
        Keys and indices, as in a pydantic error location.

    Returns
    -------
    int or None
        The line of the key (for mappings) or item (for sequences) reached last.
    """
    node, line = document, None
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def to_plain(node: Any) -> Any:
    """Convert a round-trip document into plain dicts, lists and scalars."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    return node
