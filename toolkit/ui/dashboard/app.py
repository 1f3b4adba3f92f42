"""The forecast dashboard: prior sliders, expectation inputs, evidence what-ifs, live charts.

Plain Python first, widgets second: :class:`Dashboard` can be driven without a kernel
(set ``slider.value``, call ``button.click()``), which is how the tests use it.

How a change flows:

* a weight slider -> :func:`toolkit.outputs.forecast.assemble` on the cached engine result with the
  new weights (no engine rerun: ``P(k | evidence) ∝ w_k m_k``);
* an expectation, inclusion or reliability change -> the exact engine reruns (milliseconds);
  with the toggle on "PyMC (live)" a PyMC fit of the new inputs starts in the background
  (:mod:`toolkit.ui.dashboard.pymc_runner`: a bar per chain, Cancel; a fit of older inputs
  is cancelled and the new one queued), reusing its engine (and so its compiled model) as
  long as draws and chains stay the same; the exact forecast shows until it is done;
* every change is debounced: controls report on release, and changes arriving within
  ``debounce`` seconds of each other cause one redraw.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np

from toolkit.core.errors import CaseError
from toolkit.inference.engines import Engine, EngineResult, get_engine
from toolkit.model.case import load_case
from toolkit.model.evidence import EvidenceItem
from toolkit.outputs.briefing.sections import compute_sensitivity
from toolkit.outputs.forecast import Forecast, assemble, default_seed
from toolkit.outputs.sensitivity import Sensitivity
from toolkit.outputs.watch import WatchEntry, watch
from toolkit.ui.dashboard.controls import (
    EvidenceControls,
    ExpectationControls,
    WeightControls,
    html,
)
from toolkit.ui.dashboard.debounce import Debouncer
from toolkit.ui.dashboard.file_actions import FileActions
from toolkit.ui.dashboard.panels import DynamicPanel, SensitivityPanel, WatchPanel
from toolkit.ui.dashboard.pymc_runner import PymcRunner, RunInputs
from toolkit.ui.dashboard.views import (
    diagnostics_html,
    drivers_html,
    esc,
    probability_svg,
    summary_html,
    trail_svg,
)
from toolkit.ui.dashboard.whatif import WhatIf

#: Charts shrink to their column (matplotlib's SVGs carry a fixed width and a viewBox).
FIT_CHARTS = ".widget-html-content svg {max-width: 100%; height: auto;}"


class Dashboard(FileActions):
    """Interactive forecast of one case.

    Parameters
    ----------
    root : Path
        Case root (holds ``priors/``); exports go to ``root / "reports"``.
    case : str
        Case slug.
    as_of : date, optional
        Forecast date (default: today).
    debounce : float
        Seconds of quiet before a redraw inside a kernel (0: redraw at once).
    engine_factory : callable
        ``engine_factory(name, **options) -> Engine``; :func:`toolkit.inference.engines.get_engine`.
    dynamic_runner : callable, optional
        ``dynamic_runner(case, progress=..., as_of=..., seed=..., weights=...)`` for the
        "Run dynamic model" button; default :func:`toolkit.outputs.dynamic_forecast.run_dynamic`.

    Attributes
    ----------
    weight_sliders : dict
        Scenario id -> ``FloatSlider`` of its prior weight.
    expectation_inputs : dict
        ``(indicator, scenario)`` -> :class:`~toolkit.ui.dashboard.controls.ExpectationRow`.
    evidence_include, evidence_reliability : dict
        Item id -> ``Checkbox`` / ``Dropdown``.
    engine_runs : Counter
        Engine runs so far, by engine name.
    """

    def __init__(self, root: Path, case: str, as_of: dt.date | None = None,
                 debounce: float = 0.15,
                 engine_factory: Callable[..., Engine] = get_engine,
                 dynamic_runner: Callable[..., Any] | None = None):
        self.root = Path(root)
        self.dynamic_runner = dynamic_runner
        self.whatif = WhatIf(load_case(self.root, case), as_of)
        self.seed = default_seed(case)
        self.engine_factory = engine_factory
        self.engine_runs: Counter[str] = Counter()
        self.last_update_ms = float("nan")
        self.last_export: list[Path] = []
        self._results: dict[str, tuple[int, EngineResult, list[EvidenceItem], dict]] = {}
        self._forecast: Forecast | None = None
        self._build_widgets()
        self._request = Debouncer(self.refresh, debounce, self._show_error)
        self.refresh()

    # -- construction ---------------------------------------------------------------------
    def _build_widgets(self) -> None:
        case = self.whatif.base
        self.weights = WeightControls(case)
        self.weight_sliders = self.weights.sliders
        order, notes = self._indicator_order()
        self.expectations = ExpectationControls(case, self.whatif, order, notes)
        self.expectation_inputs = self.expectations.rows
        self.evidence = EvidenceControls(self.whatif)
        self.evidence_include = self.evidence.include
        self.evidence_reliability = self.evidence.reliability
        self.engine_picker = w.ToggleButtons(
            options=[("exact (live)", "exact"), ("PyMC (live)", "pymc")], value="exact")
        self.pymc = PymcRunner(lambda name, **options: self.engine_factory(name, **options),
                               self._run_inputs, self._pymc_succeeded,
                               lambda message: self._set_status(message, error=True))
        self.draws, self.chains = self.pymc.draws, self.pymc.chains
        self.run_button = self.pymc.run_button
        self.progress, self.progress_text = self.pymc.progress, self.pymc.progress_text
        self.status = html("")
        self.status.add_class("dashboard-status")
        self.summary = html("")
        self.summary.add_class("forecast-summary")
        self.probability_chart = html("")
        self.probability_chart.add_class("probability-chart")
        self.trail_chart = html("")
        self.drivers_view = html("")
        self.diagnostics_view = html("")
        self.watch_panel = WatchPanel(self._rank_inputs)
        self.sensitivity_panel = SensitivityPanel(self._sensitivity_inputs, self.weights,
                                                  self.expectations,
                                                  case.paths.shown(case.paths.priors))
        self.dynamic_panel = DynamicPanel(self._dynamic_inputs, self.dynamic_runner)
        for slider in self.weight_sliders.values():
            slider.observe(self._on_weight, names="value")
        for (ind, sid), row in self.expectation_inputs.items():
            for widget in (row.low, row.high, row.per):
                if widget is not None:
                    widget.observe(self._expectation_handler(ind, sid), names="value")
        for item_id, box in self.evidence_include.items():
            box.observe(self._evidence_handler(item_id), names="value")
        for item_id, menu in self.evidence_reliability.items():
            menu.observe(self._evidence_handler(item_id), names="value")
        self.engine_picker.observe(lambda _: self._request(), names="value")
        title = (f"<style>{FIT_CHARTS}</style><h3 style='margin:4px 0'>"
                 f"{esc(case.priors.title)}</h3>"
                 f"<p style='margin:0 0 6px 0'>{esc(case.priors.question)}</p>")
        engine_box = w.VBox([html("<b>Engine</b>"), self.engine_picker, self.pymc.box])
        controls = w.VBox([self.weights.box, self.expectations.box, engine_box,
                           self._file_controls(),
                           self.status],
                          layout=w.Layout(flex="1 1 600px", max_width="680px"))
        views = w.VBox([self.summary, self.probability_chart,
                        w.Accordion([self.trail_chart, self.drivers_view,
                                     self.diagnostics_view, self.watch_panel.box,
                                     self.sensitivity_panel.box, self.dynamic_panel.box],
                                    titles=("Trail", "What moved it", "Diagnostics",
                                            "What to watch next", "What would change it",
                                            "Dynamic model"),
                                    selected_index=0)],
                       layout=w.Layout(flex="1 1 560px", max_width="700px"))
        # wrap-reverse: on a screen too narrow for both columns the results come first
        columns = w.HBox([controls, views], layout=w.Layout(flex_flow="row wrap-reverse"))
        self.widget = w.VBox([html(title), columns,
                              w.Accordion([self.evidence.box], titles=("Evidence",),
                                          selected_index=0)])

    def _indicator_order(self) -> tuple[list[str], dict[str, str]]:
        """Indicators by how far their evidence separates the scenarios (log BF spread)."""
        case = self.whatif.base
        items, _ = self.whatif.selection()
        observations = case.observations(items, self.whatif.as_of)
        result = self.engine_factory("exact").run(case, observations, self.seed)
        self.engine_runs["exact"] += 1
        spread: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(case.priors.scenarios)))
        counts: Counter[str] = Counter()
        for item, row in zip(items, result.increments, strict=True):
            spread[item.indicator] = spread[item.indicator] + row
            counts[item.indicator] += 1
        score = {ind: float(np.ptp(spread[ind])) if counts[ind] else 0.0
                 for ind in case.used_indicators}
        order = sorted(case.used_indicators, key=lambda ind: -score[ind])
        notes = {ind: f"{counts[ind]} item{'s' if counts[ind] != 1 else ''}, "
                 f"log-BF spread {score[ind]:.1f}"
                 for ind in order if counts[ind]}
        return order, notes

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- reacting to controls ---------------------------------------------------------------
    def _on_weight(self, _change: dict) -> None:
        self.weights.update_shares()
        self._request()

    def _expectation_handler(self, ind: str, sid: str) -> Callable[[dict], None]:
        def handler(_change: dict) -> None:
            row = self.expectation_inputs[(ind, sid)]
            problem = self.whatif.set_interval(ind, sid, row.low.value, row.high.value,
                                               row.per.value if row.per is not None else None)
            if problem:
                self._set_status(f"{ind} under {sid}: {problem} (not applied)", error=True)
                return
            self._request()
        return handler

    def _evidence_handler(self, item_id: str) -> Callable[[dict], None]:
        def handler(_change: dict) -> None:
            self.whatif.include(item_id, self.evidence_include[item_id].value)
            self.whatif.set_reliability(item_id, float(self.evidence_reliability[item_id].value))
            self._request()
        return handler

    # -- computing ----------------------------------------------------------------------
    @property
    def forecast(self) -> Forecast:
        """The forecast currently shown."""
        assert self._forecast is not None
        return self._forecast

    def _exact_result(self) -> tuple[EngineResult, list[EvidenceItem], dict]:
        cached = self._results.get("exact")
        if cached is None or cached[0] != self.whatif.version:
            items, excluded = self.whatif.selection()
            case = self.whatif.case()
            observations = case.observations(items, self.whatif.as_of)
            result = self.engine_factory("exact").run(case, observations, self.seed)
            self.engine_runs["exact"] += 1
            cached = (self.whatif.version, result, items, excluded)
            self._results["exact"] = cached
        return cached[1], cached[2], cached[3]

    def refresh(self) -> Forecast | None:
        """Recompute the forecast from the controls and redraw every view.

        Returns
        -------
        Forecast or None
            The new forecast, or ``None`` when the controls describe no valid forecast
            (the status line then says why and the last forecast stays on screen).
        """
        start = time.perf_counter()
        weights = self.weights.weights()
        if not np.all(np.isfinite(weights)) or weights.sum() <= 0:
            self._set_status("Give at least one scenario a positive weight.", error=True)
            return None
        engine, note = "exact", ""
        pymc = self._results.get("pymc")
        live = self.engine_picker.value == "pymc"
        if live and pymc is not None and pymc[0] == self.whatif.version:
            engine = "pymc"
        elif live and self.pymc.refused != self.whatif.version:
            note = ("PyMC is fitting the current inputs (progress per chain under Engine); "
                    "showing the exact engine meanwhile.")
        if engine == "pymc":
            assert pymc is not None
            _, result, items, excluded = pymc
        else:
            result, items, excluded = self._exact_result()
        try:
            forecast = assemble(self.whatif.case(), items, excluded, result, engine,
                                self.whatif.as_of, self.seed, weights=weights)
        except CaseError as exc:
            self._set_status(str(exc), error=True)
            return None
        changes = self.whatif.changes()
        forecast.extras = {**forecast.extras, "what_if": changes}
        if changes:  # the forecast's inputs are the files plus these edits: say so
            digest = hashlib.sha256("\n".join(changes).encode("utf-8")).hexdigest()
            forecast.input_hashes = {**forecast.input_hashes, "what-if edits (dashboard)": digest}
        self._forecast = forecast
        self._draw(forecast)
        self.last_update_ms = (time.perf_counter() - start) * 1000
        what_if = f" What-ifs in force: {'; '.join(changes)}." if changes else ""
        if not (live and self.pymc.refused == self.whatif.version):  # keep the refusal shown
            self._set_status(f"{note} Updated in {self.last_update_ms:.0f} ms.{what_if}".strip())
        if live and engine == "exact":  # last: a fit on this thread redraws when done
            self.pymc.request(self.whatif.version, pymc[0] if pymc else None)
        return self._forecast

    def _draw(self, forecast: Forecast) -> None:
        self.summary.value = summary_html(forecast)
        self.probability_chart.value = probability_svg(forecast)
        self.trail_chart.value = trail_svg(forecast)
        self.drivers_view.value = drivers_html(forecast)
        self.diagnostics_view.value = diagnostics_html(forecast)
        self.watch_panel.forecast_changed(self._inputs_key())
        self.sensitivity_panel.forecast_changed(self._inputs_key())

    # -- panels run on request --------------------------------------------------------------
    def _inputs_key(self) -> tuple:
        return (self.whatif.version, tuple(np.round(self.weights.weights(), 12)))

    def _exact_forecast(self) -> Forecast:
        result, items, excluded = self._exact_result()
        return assemble(self.whatif.case(), items, excluded, result, "exact",
                        self.whatif.as_of, self.seed, weights=self.weights.weights())

    def _rank_inputs(self) -> tuple[tuple, list[WatchEntry]]:
        return self._inputs_key(), watch(self.whatif.case(), forecast=self._exact_forecast())[1]

    def _sensitivity_inputs(self, progress: Callable[[int, int], None]
                            ) -> tuple[tuple, Sensitivity]:
        return self._inputs_key(), compute_sensitivity(self.whatif.case(),
                                                       self._exact_forecast(), progress)

    def rank_indicators(self) -> list[WatchEntry]:
        """Rank the indicators by expected entropy reduction (the "Rank indicators" button)."""
        return self.watch_panel.update()

    def _dynamic_inputs(self) -> tuple[Any, dict[str, Any]]:
        return self.whatif.case(), {"as_of": self.whatif.as_of, "seed": self.seed,
                                    "weights": self.weights.weights(),
                                    "selection": self.whatif.selection()}

    def run_dynamic(self) -> Any:
        """Run the dynamic model on the current inputs and show its timeline chart."""
        return self.dynamic_panel.run()

    def run_pymc(self) -> Forecast | None:
        """Fit the PyMC engine on the current inputs (in the background inside a kernel).

        Returns
        -------
        Forecast or None
            The forecast shown once the call returns: the PyMC one when the fit finished on
            this thread (no kernel), else ``None`` (the status line says why, or the fit is
            still running and shows itself when done).
        """
        self.pymc.run()
        shown = self._forecast
        return shown if shown is not None and shown.engine == "pymc" else None

    def _run_inputs(self) -> RunInputs:
        items, excluded = self.whatif.selection()
        case = self.whatif.case()
        return RunInputs(self.whatif.version, case, items, excluded,
                         case.observations(items, self.whatif.as_of), self.seed)

    def _pymc_succeeded(self, inputs: RunInputs, result: EngineResult) -> None:
        self.engine_runs["pymc"] += 1
        self._results["pymc"] = (inputs.version, result, inputs.items, inputs.excluded)
        if self.engine_picker.value != "pymc":
            self.engine_picker.value = "pymc"  # fires a (debounced) refresh
        self.refresh()

    # -- messages -------------------------------------------------------------------------
    def _set_status(self, message: str, error: bool = False) -> None:
        colour = "#B00020" if error else "#333333"
        self.status.value = (f'<div style="color:{colour};white-space:pre-wrap">'
                             f"{esc(message)}</div>")

    def _show_error(self, exc: BaseException) -> None:
        self._set_status(f"Update failed ({type(exc).__name__}: {exc})", error=True)
