"""A notebook form that validates a new evidence item, appends it, and shows what it moved.

The form writes only through :func:`toolkit.store.ledger.append_item`, which validates the row
against the whole case and leaves the ledger untouched when anything is wrong; the problems
are then listed under the form. After a successful append the form shows the forecast
before and after (exact engine) and which scenario the new item moved most.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np

from toolkit.core.errors import CaseError, Problem
from toolkit.model.case import Case, load_case
from toolkit.model.evidence import EvidenceItem
from toolkit.outputs.forecast import Forecast, run_forecast
from toolkit.store.ledger import append_item
from toolkit.ui.dashboard.views import esc, pct, shorten, summary_html

#: Form fields in ledger column order (``status`` is always ``active`` for a new item).
FIELDS = ("id", "reported_on", "period_start", "period_end", "indicator", "value", "unit",
          "source", "reliability", "note")


def next_id(case: Case) -> str:
    """The next free id in the ledger's own style (``E17`` -> ``E18``)."""
    best: tuple[str, int, int] | None = None
    for item in case.evidence:
        match = re.fullmatch(r"(.*?)(\d+)", item.id)
        if match and (best is None or int(match.group(2)) > best[1]):
            best = (match.group(1), int(match.group(2)), len(match.group(2)))
    if best is None:
        return "E01"
    prefix, number, width = best
    taken = {item.id for item in case.evidence}
    candidate = number + 1
    while f"{prefix}{candidate:0{width}d}" in taken:
        candidate += 1
    return f"{prefix}{candidate:0{width}d}"


@dataclass(frozen=True)
class Outcome:
    """What adding one item did to the forecast."""

    item: EvidenceItem
    before: Forecast
    after: Forecast

    @property
    def change(self) -> np.ndarray:
        """Posterior after minus before, per scenario."""
        return self.after.probabilities - self.before.probabilities

    @property
    def moved(self) -> int:
        """Index of the scenario whose probability changed most."""
        return int(np.argmax(np.abs(self.change)))

    def likelihood_ratio(self) -> float | None:
        """The new item's likelihood ratio for the most-moved scenario (``None`` if unused)."""
        if self.item.id not in self.after.item_ids:
            return None
        row = self.after.item_ids.index(self.item.id)
        return float(self.after.likelihood_ratios[row, self.moved])

    def summary(self) -> str:
        """Plain-text account: before and after per scenario, and what moved most."""
        lines = [f"Added {self.item.id} ({self.item.indicator} = {self.item.value} "
                 f"{self.item.unit}, reported {self.item.reported_on.isoformat()})."]
        if self.item.id not in self.after.item_ids:
            lines.append(f"{self.item.id} is not used as of {self.after.as_of.isoformat()} "
                         "(reported later), so the forecast did not change.")
        for k, label in enumerate(self.after.labels):
            lines.append(f"  {label}: {pct(self.before.probabilities[k])} -> "
                         f"{pct(self.after.probabilities[k])} "
                         f"({100 * self.change[k]:+.1f} points)")
        k = self.moved
        ratio = self.likelihood_ratio()
        lr = f", likelihood ratio {ratio:.2g}" if ratio is not None else ""
        lines.append(f"It moved '{self.after.labels[k]}' most ({100 * self.change[k]:+.1f} "
                     f"points{lr}).")
        return "\n".join(lines)


class EvidenceForm:
    """Widgets to enter, validate and append one evidence item.

    Parameters
    ----------
    root : Path
        Case root.
    case : str
        Case slug.
    as_of : date, optional
        Date of the before/after forecasts (default: today).
    """

    def __init__(self, root: Path, case: str, as_of: dt.date | None = None):
        self.root = Path(root)
        self.name = case
        self.as_of = as_of
        self.case = load_case(self.root, case)
        self.outcome: Outcome | None = None
        self.problems: list[Problem] = []
        today = dt.date.today().isoformat()
        indicators = self.case.used_indicators
        claims = [(shorten(f"{cid}: {claim.summary}", 90), cid)
                  for cid, claim in self.case.claims.items()]
        text = {"layout": w.Layout(width="420px")}
        self.fields: dict[str, w.ValueWidget] = {
            "id": w.Text(value=next_id(self.case), description="id", **text),
            "reported_on": w.Text(value=today, placeholder="YYYY-MM-DD",
                                  description="reported on", **text),
            "period_start": w.Text(placeholder="YYYY-MM-DD", description="period start",
                                   **text),
            "period_end": w.Text(placeholder="YYYY-MM-DD", description="period end", **text),
            "indicator": w.Dropdown(options=[(self._indicator_label(i), i) for i in indicators],
                                    value=indicators[0], description="indicator", **text),
            "value": w.Text(placeholder="300, 200-900, >=10, yes, 3/4", description="value",
                            **text),
            "unit": w.Text(value=self.case.indicators[indicators[0]].unit, description="unit",
                           **text),
            "source": w.Dropdown(options=claims, value=claims[0][1] if claims else None,
                                 description="source claim", **text),
            "reliability": w.Text(value="C3", placeholder="A1..F6 or 0-1",
                                  description="reliability", **text),
            "note": w.Textarea(placeholder="how you read the report (shown escaped)",
                               description="note", layout=w.Layout(width="420px",
                                                                   height="70px")),
        }
        for field in self.fields.values():
            field.style.description_width = "100px"
        self.fields["indicator"].observe(self._on_indicator, names="value")
        self.submit_button = w.Button(description="Validate and add", icon="plus",
                                      button_style="primary")
        self.submit_button.on_click(lambda _: self.submit())
        self.result = w.HTML()
        self.widget = w.VBox([*self.fields.values(), self.submit_button, self.result])

    def _indicator_label(self, indicator: str) -> str:
        spec = self.case.indicators[indicator]
        return shorten(f"{indicator} ({spec.kind}, {spec.unit})", 60)

    def _on_indicator(self, change: dict) -> None:
        self.fields["unit"].value = self.case.indicators[change["new"]].unit

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def fill(self, **cells: str) -> None:
        """Set form fields by ledger column name (as the analyst would type them)."""
        unknown = set(cells) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        if "indicator" in cells:
            self.fields["indicator"].value = cells["indicator"]
        for name, value in cells.items():
            self.fields[name].value = value

    def cells(self) -> dict[str, str]:
        """The row as ledger cells."""
        return {name: "" if field.value is None else str(field.value).strip()
                for name, field in self.fields.items()}

    def report(self) -> str:
        """Plain text of the last submission: the outcome, or why the row was refused."""
        if self.outcome is not None:
            return self.outcome.summary()
        if self.problems:
            return "Not added (the ledger is unchanged):\n" + "\n".join(
                f"  {p}" for p in self.problems)
        return "Nothing submitted yet."

    def submit(self) -> Outcome | None:
        """Validate and append the item; show the forecast before and after.

        Returns
        -------
        Outcome or None
            ``None`` when the row was refused (the problems are shown; nothing written).
        """
        before = run_forecast(self.case, as_of=self.as_of)
        try:
            item = append_item(self.root, self.name, self.cells())
        except CaseError as exc:
            self.problems = exc.problems
            problems = "".join(f"<li>{esc(p)}</li>" for p in exc.problems)
            self.result.value = (f'<div style="color:#B00020"><b>Not added</b> (the ledger is '
                                 f"unchanged):<ul>{problems}</ul></div>")
            self.outcome = None
            return None
        self.problems = []
        self.case = load_case(self.root, self.name)
        after = run_forecast(self.case, as_of=self.as_of)
        self.outcome = Outcome(item, before, after)
        note = f"<p>Note: <i>{esc(item.note)}</i></p>" if item.note else ""
        self.result.value = (f"<pre>{esc(self.outcome.summary())}</pre>{note}"
                             f"<h4>Forecast now</h4>{summary_html(after)}")
        self.fields["id"].value = next_id(self.case)
        return self.outcome
