"""Evidence: the dated, sourced, graded observations of a case (``evidence/<case>.csv``).

Items are never deleted; retraction is a status. Values may be exact, a range or a bound
(see :func:`parse_value`), and ranges and bounds stay censored all the way to the engines.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

from toolkit.core.errors import Problem
from toolkit.core.validation import iso_date
from toolkit.core.yamlio import read_utf8
from toolkit.families import PER_MONTHS, family_for
from toolkit.families.observation import DAYS_PER_MONTH, Observation
from toolkit.families.values import ParsedValue
from toolkit.model.indicators import Indicator
from toolkit.model.reliability import parse_reliability

COLUMNS = (
    "id", "reported_on", "period_start", "period_end", "indicator", "value", "unit",
    "source", "reliability", "status", "note",
)
#: Columns a ledger may leave out: ``note`` and ``echo_of`` (the id of the item this row
#: re-reports; the pair then counts once).
OPTIONAL_COLUMNS = ("note", "echo_of")
#: The longest note a row may hold (characters); long texts belong in the seed digests.
MAX_NOTE = 10_000
#: The largest ledger read (bytes) and the most rows: a team logs thousands of rows; a
#: 50 MB ledger once took 11 GB of memory. Beyond these the ledger is refused, named.
MAX_LEDGER_BYTES = 16 * 2**20
MAX_ROWS = 20_000
STATUSES = ("active", "retracted")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class EvidenceItem:
    """One row of the evidence ledger, with raw text kept for display and rewriting."""

    id: str
    reported_on: dt.date
    period_start: dt.date
    period_end: dt.date
    indicator: str
    value: str
    unit: str
    source: str
    reliability_text: str
    reliability: float
    status: str
    note: str
    line: int
    echo_of: str = ""

    @property
    def active(self) -> bool:
        """Whether the item counts (not retracted)."""
        return self.status == "active"

    @property
    def claim_key(self) -> tuple:
        """What makes two rows the same claim: indicator, source, period, value and unit."""
        return (self.indicator, self.source, self.period_start, self.period_end,
                self.value.strip().lower(), self.unit.strip())

    @property
    def days(self) -> int:
        """Inclusive length of the observed period in days."""
        return (self.period_end - self.period_start).days + 1


@functools.lru_cache(maxsize=4096)  # ledgers repeat values ('yes', '1') thousands of times
def parse_value(text: str, kind: str) -> ParsedValue:
    """Parse an evidence value for an indicator of ``kind`` (the kind's family reads it).

    Parameters
    ----------
    text : str
        ``"300000"``, ``"200-900"``, ``">=10"``, ``"yes"``, ``"3/4"`` ...
    kind : str
        Indicator kind.

    Returns
    -------
    ParsedValue
        Bounds before any rate-unit scaling.

    Raises
    ------
    ValueError
        With a message saying what is accepted.
    """
    return family_for(kind).parse_value(text)


def unit_factor(unit: str, indicator: Indicator, days: int) -> float:
    """Return the factor turning a value in ``unit`` into a total over the period.

    Raises
    ------
    ValueError
        If ``unit`` is neither the indicator's unit nor a rate of it.
    """
    unit = unit.strip()
    if unit == indicator.unit:
        return 1.0
    base, _, per = unit.rpartition("/")
    takes_rates = indicator.family.takes_rates
    if takes_rates and base.strip() == indicator.unit and per.strip() in PER_MONTHS:
        return days / (PER_MONTHS[per.strip()] * DAYS_PER_MONTH)
    rates = f" or a rate such as '{indicator.unit}/day'" if takes_rates else ""
    raise ValueError(f"unit {unit!r} does not fit {indicator.id} (use '{indicator.unit}'{rates})")


def to_observation(item: EvidenceItem, indicator: Indicator) -> Observation:
    """Reduce an item to the numbers the engines read (validated input assumed)."""
    family = indicator.family
    return family.observation(item.id, indicator.id, parse_value(item.value, indicator.kind),
                              unit_factor(item.unit, indicator, item.days), item.days,
                              item.reliability)


def _date(text: str) -> dt.date:
    try:
        return iso_date(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date") from None


def read_evidence(path: Path, shown: str) -> tuple[list[EvidenceItem], list[Problem]]:
    """Read the ledger and check each row on its own (cross-file checks live in ``case``).

    Parameters
    ----------
    path : Path
        ``evidence/<case>.csv``.
    shown : str
        How the file is named in messages.

    Returns
    -------
    tuple
        ``(items, problems)``; rows with problems are left out of ``items``.
    """
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # read_utf8 names the problem
    if size > MAX_LEDGER_BYTES:
        return [], [Problem(shown, None, "", f"is {size / 2**20:.1f} MB; the toolkit reads "
                            f"ledgers of at most {MAX_LEDGER_BYTES // 2**20} MB",
                            "move old or retracted items to an archive case, or shorten "
                            "long notes")]
    text, problems = read_utf8(path, shown)
    if text is None:
        return [], problems
    return parse_rows(text, shown)


def parse_rows(text: str, shown: str) -> tuple[list[EvidenceItem], list[Problem]]:
    """Parse ledger text (header plus rows); see :func:`read_evidence`."""
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], [Problem(shown, None, "", "is empty", "start it with the header row")]
    except csv.Error as exc:
        return [], [_quote_problem(shown, 1, exc)]
    missing = [c for c in COLUMNS if c not in header and c not in OPTIONAL_COLUMNS]
    if missing:
        return [], [Problem(shown, 1, ", ".join(missing), "required column(s) missing",
                            f"use the header: {','.join(COLUMNS)}")]
    items: list[EvidenceItem] = []
    line, count = 1, 0
    rows = iter(reader)
    while True:
        start = line + 1
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # the reader cannot go on: later rows are not read
            problems.append(_quote_problem(shown, start, exc))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        count += 1
        if count > MAX_ROWS:
            problems.append(Problem(shown, start, "", f"the ledger has more than {MAX_ROWS:,} "
                                    "rows, the most the toolkit reads",
                                    "move old or retracted items to an archive case"))
            break
        if len(row) != len(header):
            problems.append(Problem(shown, start, "", f"has {len(row)} cells, header has "
                                    f"{len(header)}", "quote cells that contain commas"))
            continue
        item, row_problems = _parse_row(dict(zip(header, row, strict=True)), start, shown)
        problems.extend(row_problems)
        if item is not None:
            items.append(item)
    return items, problems


def _quote_problem(shown: str, line: int, exc: csv.Error) -> Problem:
    """A row whose quoted cell never closes (it would swallow every later row)."""
    if "field larger than field limit" in str(exc):
        return Problem(shown, line, "note", f"a cell is longer than the CSV reader's limit "
                       f"({csv.field_size_limit():,} characters); rows after it were not read",
                       f"shorten it: a note holds at most {MAX_NOTE:,} characters")
    return Problem(shown, line, "", f'a quote (") opens here and is never closed properly '
                   f"(the CSV reader stopped: {exc}); rows after it were not read",
                   'close the quote, or write a quote inside a quoted note as two ("")')


def _parse_row(cells: dict[str, str], line: int, shown: str) -> tuple[EvidenceItem | None, list]:
    problems: list[Problem] = []

    def bad(field: str, message: str, fix: str) -> None:
        problems.append(Problem(shown, line, field, message, fix))

    for column in COLUMNS:
        if column not in OPTIONAL_COLUMNS and not cells.get(column, "").strip():
            bad(column, "is empty", "fill in this required field")
    if problems:
        return None, problems
    item_id = cells["id"].strip()
    if not _ID.match(item_id):
        bad("id", f"{item_id!r} is not a valid id", "use letters, digits, '-', '_' or '.'")
    dates = {}
    for column in ("reported_on", "period_start", "period_end"):
        try:
            dates[column] = _date(cells[column])
        except ValueError as exc:
            bad(column, str(exc), "write the date as YYYY-MM-DD")
    if len(dates) == 3 and dates["period_end"] < dates["period_start"]:
        bad("period_end", f"{dates['period_end']} is before period_start "
            f"{dates['period_start']}", "make the period end on or after its start")
    try:
        reliability = parse_reliability(cells["reliability"])
    except ValueError as exc:
        reliability = 0.0
        bad("reliability", str(exc), "use an Admiralty grade A1-F6 or a probability in [0, 1]")
    if len(cells.get("note", "")) > MAX_NOTE:
        bad("note", f"has {len(cells['note']):,} characters; a note holds at most "
            f"{MAX_NOTE:,}", "shorten it, and keep long texts in the seed digest")
    status = cells["status"].strip().lower()
    if status not in STATUSES:
        bad("status", f"{cells['status']!r} is not a status", "use 'active' or 'retracted'")
    if problems:
        return None, problems
    return EvidenceItem(
        id=item_id, reported_on=dates["reported_on"], period_start=dates["period_start"],
        period_end=dates["period_end"], indicator=cells["indicator"].strip(),
        value=cells["value"].strip(), unit=cells["unit"].strip(), source=cells["source"].strip(),
        reliability_text=cells["reliability"].strip(), reliability=reliability, status=status,
        note=cells.get("note", "").strip(), line=line,
        echo_of=cells.get("echo_of", "").strip(),
    ), []


def with_status(item: EvidenceItem, status: str) -> EvidenceItem:
    """Return a copy of ``item`` with another status."""
    return replace(item, status=status)
