"""The dashboard's input widgets: prior weights, expectation intervals, the evidence table.

Widgets only: what a change means is decided in :mod:`toolkit.ui.dashboard.app`. Text from case
files reaches the page only through :func:`~toolkit.ui.dashboard.views.esc` inside
``ipywidgets.HTML``; widget descriptions carry slugs or fixed words.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as w
import numpy as np

from toolkit.model.case import Case
from toolkit.store.priors_edit import PERIODS
from toolkit.ui.dashboard.views import esc, shorten, swatch
from toolkit.ui.dashboard.whatif import WhatIf, reliability_options


def html(text: str, **layout: str) -> w.HTML:
    """An ``ipywidgets.HTML`` holding already-escaped markup (a given width never shrinks)."""
    if "width" in layout:
        layout.setdefault("min_width", layout["width"])
    return w.HTML(value=text, layout=w.Layout(**layout))


class WeightControls:
    """One slider per scenario for its prior weight, with its normalised share beside it."""

    def __init__(self, case: Case):
        raw = [s.weight for s in case.priors.scenarios]
        top = max(1.0, 2 * max(raw))
        step = 0.01 if top <= 1.0 else top / 100
        self.sliders: dict[str, w.FloatSlider] = {}
        self.shares: dict[str, w.HTML] = {}
        rows = []
        for k, scenario in enumerate(case.priors.scenarios):
            slider = w.FloatSlider(
                value=scenario.weight, min=0.0, max=top, step=step, readout_format=".2f",
                continuous_update=False, layout=w.Layout(width="230px"))
            slider.add_class("scenario-weight")
            share = html("", width="70px")
            share.add_class("scenario-share")
            self.sliders[scenario.id] = slider
            self.shares[scenario.id] = share
            label = html(f'{swatch(k)}<span title="{esc(scenario.label)}">'
                         f"{esc(shorten(scenario.label, 34))}</span>", width="250px")
            rows.append(w.HBox([label, slider, share]))
        self.box = w.VBox([html("<b>Scenario prior weights</b> (normalised share at right)"),
                           *rows])
        self.update_shares()

    def weights(self) -> np.ndarray:
        """Current raw weights in scenario order."""
        return np.array([s.value for s in self.sliders.values()], float)

    def update_shares(self) -> None:
        """Show each weight as a share of the total."""
        raw = self.weights()
        total = raw.sum()
        for share, value in zip(self.shares.values(), raw, strict=True):
            share.value = f"{100 * value / total:.1f}%" if total > 0 else "-"


@dataclass
class ExpectationRow:
    """The inputs of one expectation: ``low``/``high`` of the interval and its ``per``."""

    low: w.FloatText
    high: w.FloatText
    per: w.Dropdown | None
    box: w.Box


class ExpectationControls:
    """Pick an indicator (most diagnostic first), then edit its interval under each scenario."""

    def __init__(self, case: Case, whatif: WhatIf, order: list[str], notes: dict[str, str]):
        self.picker = w.Dropdown(
            options=[(shorten(f"{case.indicators[i].label} ({notes.get(i, 'no evidence')})",
                              80), i) for i in order],
            value=order[0], layout=w.Layout(width="520px"), description="Indicator")
        self.rows: dict[tuple[str, str], ExpectationRow] = {}
        self._by_indicator: dict[str, list[w.Widget]] = {}
        for ind in order:
            indicator = case.indicators[ind]
            per_period = indicator.family.takes_rates
            unit = indicator.unit if per_period else "share of signals"
            children: list[w.Widget] = [html(
                f"<i>{esc(indicator.kind)}, 90% interval of the {esc(unit)}"
                f"{' per period' if per_period else ''} under each "
                "scenario</i>")]
            for k, scenario in enumerate(case.priors.scenarios):
                exp = whatif.expectation(ind, scenario.id)
                label = html(f'{swatch(k)}<span title="{esc(scenario.label)}">'
                             f"{esc(shorten(scenario.label, 22))}</span>", width="200px")
                if exp.low is None:
                    children.append(w.HBox([label, html(
                        "given as a distribution or a path in the file (edit it there)")]))
                    continue
                low = w.FloatText(value=exp.low, description="low", layout=w.Layout(
                    width="160px"), style={"description_width": "32px"})
                high = w.FloatText(value=exp.high, description="high", layout=w.Layout(
                    width="170px"), style={"description_width": "36px"})
                per = None
                parts: list[w.Widget] = [label, low, high]
                if per_period:
                    per = w.Dropdown(options=list(PERIODS), value=exp.per, description="per",
                                     layout=w.Layout(width="150px"),
                                     style={"description_width": "30px"})
                    parts.append(per)
                row = ExpectationRow(low, high, per, w.HBox(parts))
                self.rows[(ind, scenario.id)] = row
                children.append(row.box)
            self._by_indicator[ind] = children
        self.panel = w.VBox(self._by_indicator[order[0]])
        self.picker.observe(self._show, names="value")
        self.box = w.VBox([html("<b>Indicator expectations</b> (what each scenario makes us "
                                "expect)"), self.picker, self.panel])

    def _show(self, change: dict) -> None:
        self.panel.children = self._by_indicator[change["new"]]


class EvidenceControls:
    """The evidence table: include/exclude and a reliability choice per item."""

    #: The note column never narrows below 240 px: a narrow screen scrolls the table sideways.
    COLUMNS = "40px 60px 90px 170px 130px 60px 230px minmax(240px, 1fr)"

    def __init__(self, whatif: WhatIf):
        self.include: dict[str, w.Checkbox] = {}
        self.reliability: dict[str, w.Dropdown] = {}
        header = ["use", "id", "reported", "indicator", "value", "source",
                  "reliability (what if it is false?)", "note"]
        cells: list[w.Widget] = [html(f"<b>{esc(h)}</b>") for h in header]
        for item in whatif.items:
            include = w.Checkbox(value=True, indent=False, layout=w.Layout(width="30px"))
            include.add_class("evidence-include")
            reliability = w.Dropdown(options=reliability_options(item), value=item.reliability,
                                     layout=w.Layout(width="225px"))
            self.include[item.id] = include
            self.reliability[item.id] = reliability
            cells += [
                include, html(esc(item.id)), html(item.reported_on.isoformat()),
                html(esc(item.indicator)), html(esc(shorten(f"{item.value} {item.unit}", 22))),
                html(esc(item.source)), reliability,
                html(f'<span class="evidence-note" title="{esc(item.note)}">'
                     f"{esc(shorten(item.note, 90))}</span>"),
            ]
        left_out = [f"{len(ids)} {reason.replace('_', ' ')}"
                    for reason, ids in whatif.excluded.items() if ids]
        note = f" Not listed: {', '.join(left_out)}." if left_out else ""
        self.box = w.VBox([
            html(f"<b>Evidence</b> ({len(whatif.items)} items as of "
                 f"{whatif.as_of.isoformat()}).{esc(note)} Changes here are what-ifs; the "
                 "evidence file is never changed by the dashboard."),
            w.GridBox(cells, layout=w.Layout(grid_template_columns=self.COLUMNS,
                                             grid_gap="2px 6px", align_items="center",
                                             overflow="auto")),
        ])
