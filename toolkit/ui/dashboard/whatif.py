"""What-if edits to a case, kept apart from the files: expectations, inclusion, reliability.

The dashboard never changes the evidence file. An analyst may try another expectation
interval, leave an item out, or ask "what if this report is false?" by lowering its
reliability; :class:`WhatIf` holds those edits, validates them like the loader does, and
hands the engines a :class:`~toolkit.model.case.Case` and item list that reflect them.
Scenario weights are not held here: they enter after the engine (``forecast.assemble``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from pydantic import ValidationError

from toolkit.model.case import Case, prior_params
from toolkit.model.evidence import EvidenceItem
from toolkit.model.priors import Expectation
from toolkit.model.readings import overlaps

#: Reliability choices offered per item besides its own grade: (label, reliability).
RELIABILITY_CHOICES: tuple[tuple[str, float], ...] = (
    ("A1 confirmed (1.00)", 1.0),
    ("B2 probably true (0.72)", 0.85 * 0.85),
    ("C3 possibly true (0.42)", 0.65 * 0.65),
    ("D4 doubtful (0.20)", 0.45 * 0.45),
    ("E5 improbable (0.06)", 0.25 * 0.25),
    ("false: no weight (0)", 0.0),
)


def reliability_options(item: EvidenceItem) -> list[tuple[str, float]]:
    """Choices for an item's reliability: its own grade first, then the standard ones."""
    own = (f"{item.reliability_text} as graded ({item.reliability:.2f})", item.reliability)
    return [own] + [c for c in RELIABILITY_CHOICES if abs(c[1] - item.reliability) > 1e-9]


class WhatIf:
    """Edits applied on top of a loaded case.

    Parameters
    ----------
    case : Case
        The case as loaded from its files.
    as_of : date, optional
        Forecast date (default: today); items reported later are left out.
    """

    def __init__(self, case: Case, as_of: dt.date | None = None):
        self.as_of = as_of or dt.date.today()
        self.base = case
        self.items, self.excluded = case.select(self.as_of, nest=False)
        self.included: dict[str, bool] = {item.id: True for item in self.items}
        self.reliability: dict[str, float] = {item.id: item.reliability for item in self.items}
        self.expectations: dict[tuple[str, str], Expectation] = {}
        #: Bumped on every change that needs an engine rerun.
        self.version = 0
        self._case: tuple[int, Case] | None = None

    def rebase(self, case: Case) -> None:
        """Adopt a reloaded case (after saving priors); keeps edits that still differ."""
        self.base = case
        self.expectations = {
            key: exp for key, exp in self.expectations.items()
            if case.priors.expectations[key[0]][key[1]] != exp
        }
        self._touch()

    def _touch(self) -> None:
        self.version += 1
        self._case = None

    def expectation(self, indicator: str, scenario: str) -> Expectation:
        """The expectation in force (edited or as loaded)."""
        edited = self.expectations.get((indicator, scenario))
        return edited or self.base.priors.expectations[indicator][scenario]

    def set_interval(
        self, indicator: str, scenario: str, low: float, high: float, per: str | None = None
    ) -> str | None:
        """Try a new 90% interval (in the file's own units and ``per``).

        Returns
        -------
        str or None
            ``None`` when accepted; otherwise what is wrong (the edit is then ignored).
        """
        current = self.expectation(indicator, scenario)
        if current.low is None:
            return f"{indicator} / {scenario} is given as a distribution; edit the file"
        fields: dict[str, Any] = current.model_dump(exclude_none=True)
        fields.update(low=float(low), high=float(high))
        if per is not None:
            fields["per"] = per
        try:
            candidate = Expectation.model_validate(fields)
        except ValidationError as exc:
            return "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        indicator_def = self.base.indicators[indicator]
        issue = candidate.form_matches(indicator_def.kind)
        if issue:
            return issue
        try:
            prior_params(indicator_def, candidate)
        except (ValueError, ArithmeticError) as exc:
            return f"cannot be turned into a prior ({exc}); widen the interval"
        if candidate == current:
            return None
        if candidate == self.base.priors.expectations[indicator][scenario]:
            self.expectations.pop((indicator, scenario), None)
        else:
            self.expectations[(indicator, scenario)] = candidate
        self._touch()
        return None

    def include(self, item_id: str, included: bool) -> None:
        """Include or leave out one evidence item."""
        if self.included[item_id] != included:
            self.included[item_id] = included
            self._touch()

    def set_reliability(self, item_id: str, reliability: float) -> None:
        """Override one item's reliability (0 = the report carries no weight)."""
        if not 0.0 <= reliability <= 1.0:
            raise ValueError(f"reliability {reliability!r} is outside [0, 1]")
        if self.reliability[item_id] != reliability:
            self.reliability[item_id] = reliability
            self._touch()

    def case(self) -> Case:
        """The case with edited expectations (cached until the next edit)."""
        if self._case is not None and self._case[0] == self.version:
            return self._case[1]
        case = self.base
        if self.expectations:
            table = {ind: dict(by_scenario)
                     for ind, by_scenario in self.base.priors.expectations.items()}
            for (ind, sid), exp in self.expectations.items():
                table[ind][sid] = exp
            priors = self.base.priors.model_copy(update={"expectations": table})
            case = dataclasses.replace(self.base, priors=priors)
        self._case = (self.version, case)
        return case

    def selection(self) -> tuple[list[EvidenceItem], dict[str, list[str]]]:
        """Items the engine should see, with overridden reliabilities, and those left out."""
        items = []
        for item in self.items:
            if not self.included[item.id]:
                continue
            r = self.reliability[item.id]
            if r != item.reliability:
                item = dataclasses.replace(item, reliability=r,
                                           reliability_text=f"{r:.2f} (what-if)")
            items.append(item)
        excluded = dict(self.excluded)
        excluded["left_out_in_dashboard"] = [i.id for i in self.items if not self.included[i.id]]
        nested, crossing = overlaps(self.base, items)  # after the what-if reliabilities
        excluded["nested"] = list(nested)
        excluded["overlapping"] = [f"{a.id}+{b.id}" for a, b in crossing]
        return [i for i in items if i.id not in nested], excluded

    def changes(self) -> list[str]:
        """Plain-language list of the edits in force."""
        out = [f"expectation {ind}/{sid}: {exp.low:g}-{exp.high:g} per {exp.per}"
               for (ind, sid), exp in self.expectations.items()]
        out += [f"{i.id} left out" for i in self.items if not self.included[i.id]]
        out += [f"{i.id} reliability {self.reliability[i.id]:.2f} (graded {i.reliability:.2f})"
                for i in self.items if self.reliability[i.id] != i.reliability]
        return out

    def edited_intervals(self) -> dict[tuple[str, str], dict[str, float | str]]:
        """Edited expectations as ``{(indicator, scenario): {low, high, per}}`` for saving."""
        out: dict[tuple[str, str], dict[str, float | str]] = {}
        for (ind, sid), exp in self.expectations.items():
            fields: dict[str, float | str] = {"low": exp.low, "high": exp.high}
            if exp.per != self.base.priors.expectations[ind][sid].per:
                fields["per"] = exp.per
            out[(ind, sid)] = fields
        return out
