"""Questions: resolvable yes/no statements about an indicator's total in a window.

Parsed from ``questions/<case>.yaml`` (see ``docs/formats.md``) and cross-checked against the
case: every problem of the file is reported at once, with file, line, field and a fix.
A question asks whether the indicator's total over ``window`` (both ends inclusive) meets
``condition`` (``">= 1"``, ``"> 5000"``, ``"<= 2"``, ``"== 0"``); for a ``signal`` indicator the
total is the number of affirming signals among ``signals`` signals in the window.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from toolkit.core.errors import CaseError, Problem
from toolkit.core.validation import field_name, pydantic_problems
from toolkit.core.yamlio import check_schema_version, line_of, load_yaml, to_plain
from toolkit.families import family_for, values
from toolkit.families.observation import DAYS_PER_MONTH
from toolkit.families.values import parse_condition_bounds

if TYPE_CHECKING:
    from toolkit.model.case import Case

_NUMBER = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+)"
_CONDITION = re.compile(rf"^(>=|>|<=|<|==|=)\s*(-?){_NUMBER}$")
CONDITION_HELP = "write an operator and a number, e.g. '>= 1', '> 5000', '<= 2', '== 0'"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Strict):
    """The period a question is about, both ends inclusive."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def months(self) -> float:
        """Length of the window in months (inclusive of both ends)."""
        return ((self.end - self.start).days + 1) / DAYS_PER_MONTH


#: The most signals a question's window may hold (the watch list and predictive evaluate
#: every possible total: 1e9 of them grew memory without bound).
MAX_SIGNALS = 100_000


class Question(_Strict):
    """One resolvable question."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)
    text: str = Field(min_length=1)
    indicator: str = Field(min_length=1)
    window: Window
    condition: str = Field(min_length=1)
    signals: int | None = Field(default=None, ge=1, le=MAX_SIGNALS)
    resolution: Literal["yes", "no"] | None = None
    resolved_on: dt.date | None = None
    source: str | None = None
    note: str = ""

    @property
    def resolved(self) -> bool:
        """Whether the question has an outcome."""
        return self.resolution is not None

    @property
    def outcome(self) -> int | None:
        """1 for yes, 0 for no, ``None`` while open."""
        return None if self.resolution is None else int(self.resolution == "yes")


class QuestionsFile(_Strict):
    """The contents of ``questions/<case>.yaml``."""

    schema_version: Literal[1]
    case: str
    questions: list[Question] = Field(min_length=1)


@dataclass(frozen=True)
class Condition:
    """A condition as inclusive bounds on the window total (``high = inf``: open)."""

    text: str
    low: float
    high: float

    def holds(self, total: float) -> bool:
        """Whether ``total`` meets the condition."""
        return self.low <= total <= self.high


def parse_condition(text: str, kind: str, signals: int | None = None) -> Condition:
    """Parse a condition on the total of an indicator of ``kind`` over a window.

    Parameters
    ----------
    text : str
        ``">= 1"``, ``"> 5000"``, ``"<= 2"``, ``"< 3"``, ``"== 0"``.
    kind : str
        Indicator kind. Totals of ``count``, ``occurrence`` and ``signal`` are whole numbers,
        so ``"> 2.5"`` means ``">= 3"``; an ``amount`` total is continuous, so ``>`` and ``>=``
        coincide and ``==`` is refused.
    signals : int, optional
        For ``signal``: the number of signals in the window (the total is at most this).

    Returns
    -------
    Condition
        Inclusive bounds on the total.

    Raises
    ------
    ValueError
        With a message saying what is wrong.
    """
    match = _CONDITION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a condition")
    op, sign = match.group(1), match.group(2)
    number = values.number(match.group(3))  # refuses 1e400 and anything beyond MAX_TOTAL
    value = -number if sign else number
    family = family_for(kind)
    whole = family.whole_totals
    top = float(signals) if family.counts_signals and signals is not None else math.inf
    low, high = parse_condition_bounds(text, op, value, whole, top)
    if low > high or (not whole and high <= 0):
        raise ValueError(f"{text!r} admits no possible total")
    if low <= 0 and high >= top:
        raise ValueError(f"{text!r} holds for every possible total")
    return Condition(text.strip(), low, high)


@dataclass(frozen=True)
class QuestionSet:
    """A validated questions file with each question's parsed condition."""

    path: Path
    case: str
    questions: list[Question]
    conditions: dict[str, Condition]

    def condition(self, question: Question) -> Condition:
        """The parsed condition of ``question``."""
        return self.conditions[question.id]


def load_questions(case: Case, path: Path | None = None) -> QuestionSet:
    """Load and validate a questions file against ``case``.

    Parameters
    ----------
    case : Case
        The loaded case the questions are about.
    path : Path, optional
        The file (default: ``questions/<case>.yaml`` under the case root).

    Returns
    -------
    QuestionSet
        The validated questions.

    Raises
    ------
    CaseError
        Listing every problem found.
    """
    path = case.paths.questions if path is None else Path(path)
    shown = case.paths.shown(path)
    if not path.exists():
        raise CaseError([Problem(shown, None, "", "file is missing",
                                 "create it (see docs/formats.md, 'questions') or pass "
                                 "--questions FILE")])
    document, problems = load_yaml(path, shown)
    if document is None:
        raise CaseError(problems)
    problems = check_schema_version(document, shown)
    if problems:
        raise CaseError(problems)
    try:
        parsed = QuestionsFile.model_validate(to_plain(document))
    except ValidationError as exc:
        raise CaseError(pydantic_problems(exc, document, shown)) from None
    conditions, problems = check_questions(parsed, case, document, shown)
    if problems:
        raise CaseError(problems)
    return QuestionSet(path, parsed.case, parsed.questions, conditions)


def check_questions(
    parsed: QuestionsFile, case: Case, document: object, shown: str
) -> tuple[dict[str, Condition], list[Problem]]:
    """Cross-check parsed questions against the case; return conditions and problems."""
    problems: list[Problem] = []
    conditions: dict[str, Condition] = {}

    def bad(loc: tuple, message: str, fix: str) -> None:
        problems.append(Problem(shown, line_of(document, loc), field_name(loc), message, fix))

    if parsed.case != case.name:
        bad(("case",), f"is {parsed.case!r} but the questions are for case {case.name!r}",
            f"set 'case: {case.name}'")
    seen: dict[str, int] = {}
    known = ", ".join(case.used_indicators)
    for i, q in enumerate(parsed.questions):
        at = ("questions", i)
        if q.id in seen:
            bad((*at, "id"), f"duplicate question id {q.id!r} (first is questions[{seen[q.id]}])",
                "give every question a unique id")
        seen.setdefault(q.id, i)
        indicator = case.indicators.get(q.indicator)
        if indicator is None or q.indicator not in case.priors.expectations:
            bad((*at, "indicator"), f"unknown indicator {q.indicator!r}", f"use one of: {known}")
        else:
            counts_signals = indicator.family.counts_signals
            if counts_signals and q.signals is None:
                bad((*at, "signals"), f"is required: {q.indicator} is a signal indicator",
                    "say how many signals the window holds, e.g. 'signals: 5'")
            elif not counts_signals and q.signals is not None:
                bad((*at, "signals"), f"applies only to signal indicators, not {indicator.kind}",
                    "remove it")
            else:
                try:
                    conditions[q.id] = parse_condition(q.condition, indicator.kind, q.signals)
                except ValueError as exc:
                    bad((*at, "condition"), str(exc), CONDITION_HELP)
        if q.resolution is not None:
            if q.resolved_on is None:
                bad((*at, "resolved_on"), "is required once the question is resolved",
                    "give the date the outcome became known, YYYY-MM-DD")
            if not (q.source or "").strip():
                bad((*at, "source"), "is required once the question is resolved",
                    "name the publisher and date that settled it, in your own words")
        elif q.resolved_on is not None:
            bad((*at, "resolved_on"), "is set but the question has no resolution",
                "set 'resolution: yes' or 'no', or remove resolved_on")
        if q.resolved_on is not None and q.resolved_on < q.window.start:
            bad((*at, "resolved_on"), f"{q.resolved_on} is before the window starts "
                f"({q.window.start})", "correct the date or the window")
    return conditions, problems


__all__ = [
    "CONDITION_HELP", "Condition", "Question", "QuestionSet", "QuestionsFile", "Window",
    "load_questions", "parse_condition",
]
