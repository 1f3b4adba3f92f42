"""Watched indicators: when an indicator's events have been logged as they happened.

A priors file may say, per indicator, since when (or over which spans) the team has been
watching it, e.g. ``watch: {drone_supply: since 2022-08-01}`` or
``watch: {defense_commitment: [2022-02-24 to 2023-12-31, since 2024-06-01]}``. The one-day
items of a watched indicator are then read as **logged events of one point process**: each
row is an event (``yes`` or ``1``: one event; ``3``: three), and the watched time in which
nothing was logged counts as evidence of a low rate. Items over longer periods keep their
meaning as totals over their period.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from toolkit.families.observation import DAYS_PER_MONTH

_SINCE = re.compile(r"^since\s+(\d{4}-\d{2}-\d{2})$")
_SPAN = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+to\s+(\d{4}-\d{2}-\d{2})$")
SPAN_HELP = "write 'since YYYY-MM-DD' or 'YYYY-MM-DD to YYYY-MM-DD', or a list of these"


@dataclass(frozen=True)
class Span:
    """Days ``start`` to ``end`` inclusive; ``end = None`` runs up to the forecast date."""

    start: dt.date
    end: dt.date | None = None

    def __str__(self) -> str:
        return f"since {self.start}" if self.end is None else f"{self.start} to {self.end}"


def parse_spans(value: str | list[str]) -> tuple[Span, ...]:
    """Read a ``watch:`` entry into sorted, non-overlapping spans.

    Raises
    ------
    ValueError
        With a message saying what is accepted.
    """
    texts = [value] if isinstance(value, str) else list(value)
    if not texts:
        raise ValueError("no span given")
    spans = []
    for text in texts:
        raw = str(text).strip().lower()
        try:
            if match := _SINCE.match(raw):
                spans.append(Span(dt.date.fromisoformat(match.group(1))))
            elif match := _SPAN.match(raw):
                start, end = (dt.date.fromisoformat(g) for g in match.groups())
                if end < start:
                    raise ValueError(f"span {text!r} ends before it starts")
                spans.append(Span(start, end))
            else:
                raise ValueError(f"{text!r} is not a watch span")
        except ValueError as exc:
            if "watch span" in str(exc) or "ends before" in str(exc):
                raise
            raise ValueError(f"{text!r} holds an invalid date") from None
    spans.sort(key=lambda s: s.start)
    for before, after in zip(spans, spans[1:], strict=False):
        if before.end is None or after.start <= before.end:
            raise ValueError(f"spans '{before}' and '{after}' overlap")
    return tuple(spans)


def covers(spans: tuple[Span, ...], day: dt.date) -> bool:
    """Whether ``day`` lies in a watched span (open spans run on indefinitely)."""
    return any(s.start <= day and (s.end is None or day <= s.end) for s in spans)


def watched_months(spans: tuple[Span, ...], after: dt.date | None, upto: dt.date) -> float:
    """Watched time in the days after ``after`` up to ``upto`` inclusive, in months.

    ``after = None`` starts at the first span.
    """
    days = 0
    for span in spans:
        first = span.start if after is None else max(span.start, after + dt.timedelta(days=1))
        last = upto if span.end is None else min(span.end, upto)
        days += max(0, (last - first).days + 1)
    return days / DAYS_PER_MONTH


__all__ = ["SPAN_HELP", "Span", "covers", "parse_spans", "watched_months"]
