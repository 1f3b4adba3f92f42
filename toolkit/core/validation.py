"""Turn pydantic validation errors into user-facing problems with lines and fixes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import ValidationError

from toolkit.core.errors import Problem
from toolkit.core.yamlio import line_of

#: The one date form files and options accept (``date.fromisoformat`` also takes week dates
#: such as ``2022-W05-1`` and ``20220131``, which a ledger should not silently reinterpret).
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` as a date.

    Raises
    ------
    ValueError
        For any other form, an impossible day included.
    """
    if not ISO_DATE.fullmatch(text):
        raise ValueError(text)
    return dt.date.fromisoformat(text)


_FIXES = {
    "missing": "add this field",
    "extra_forbidden": "remove it or correct its spelling (see docs/formats.md)",
    "greater_than_equal": "use a value that is not negative",
    "greater_than": "use a positive value",
    "less_than": "use a smaller value",
    "less_than_equal": "use a value within the limit (see docs/formats.md)",
    "date_from_datetime_parsing": "write the date as YYYY-MM-DD",
    "date_parsing": "write the date as YYYY-MM-DD",
    "date_type": "write the date as YYYY-MM-DD",
    "literal_error": "use one of the allowed values",
    "string_pattern_mismatch": "use lowercase letters, digits and underscores, starting "
    "with a letter",
    "too_short": "add at least the minimum number of entries",
    "float_parsing": "write a number",
    "float_type": "write a number",
    "finite_number": "write a finite number",
}


def field_name(loc: tuple[Any, ...]) -> str:
    """Render a pydantic location as ``scenarios[1].weight``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def pydantic_problems(exc: ValidationError, document: Any, shown: str) -> list[Problem]:
    """Convert every error of ``exc`` into a :class:`Problem` located in ``document``."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if p not in ("function-after",))
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        if error["type"] not in ("missing", "model_type") and "input" in error:
            value = error["input"]
            if isinstance(value, dt.date):
                message = f"{message} (got {value.isoformat()})"
            elif not isinstance(value, dict | list):
                message = f"{message} (got {value!r})"
        fix = _FIXES.get(error["type"], "correct the value (see docs/formats.md)")
        above = error.get("ctx", {}).get("gt")
        if error["type"] == "greater_than" and isinstance(above, int | float) and above != 0:
            fix = f"use a value above {above:g}"  # not "positive": wander: 1 is positive
        problems.append(Problem(shown, line_of(document, loc), field_name(loc), message, fix))
    return problems
