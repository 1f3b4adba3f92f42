"""Dashboard panels run on request: what to watch, what would change it, the dynamic model.

These computations are slower than a redraw: ranking the indicators
(:func:`toolkit.outputs.watch.watch`, exact engine) takes a few hundred milliseconds on the
bundled case, the sensitivity analysis (:func:`toolkit.outputs.sensitivity.sensitivity`,
about a thousand exact forecasts) several seconds, and the dynamic model
(:func:`toolkit.outputs.dynamic_forecast.run_dynamic`) samples with PyMC for tens of seconds.
So each panel has a button. The watch ranking is redone with every forecast refresh only
when its last run took under :data:`LIVE_MS`; otherwise a panel says its result is out of
date until the button is pressed again. Every text is escaped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

import ipywidgets as w

from toolkit.core.errors import CaseError
from toolkit.outputs.charts import freeze_layout, inline_svg
from toolkit.outputs.language import figure
from toolkit.outputs.sensitivity import Influence, Sensitivity
from toolkit.outputs.watch import WatchEntry
from toolkit.ui.dashboard.background import Cancelled, ChainBars, Job
from toolkit.ui.dashboard.controls import ExpectationControls, WeightControls, html
from toolkit.ui.dashboard.views import WARNING, esc, pct, shorten

#: A watch ranking faster than this (milliseconds) is redone on every refresh.
LIVE_MS = 200.0
#: Indicators shown in the watch panel.
WATCH_TOP = 5
#: Inputs shown in the sensitivity panel.
SENSITIVITY_TOP = 10
#: CSS class of the control a sensitivity bar selected.
SELECTED = "selected-control"


def watch_html(entries: list[WatchEntry], top: int = WATCH_TOP, note: str = "") -> str:
    """The ranked list: label, id and expected entropy reduction in bits (escaped)."""
    if not entries:
        return "<p>No indicator to rank.</p>"
    items = "".join(
        f'<li data-indicator="{esc(e.indicator)}" data-bits="{e.reduction_bits:.6f}">'
        f"<b>{esc(e.label)}</b> ({esc(e.indicator)}): {e.reduction_bits:.3f} bits "
        f"({pct(e.share)} of the current {e.current_entropy_bits:.3f} bits)</li>"
        for e in entries[:top])
    stale = f'<p style="color:{WARNING}">{esc(note)}</p>' if note else ""
    return (f"{stale}<ol class='watch-list'>{items}</ol>"
            "<p style='color:#555;font-size:11px'>Expected entropy reduction from observing "
            "each indicator's total over the next 3 months (exact engine).</p>")


class WatchPanel:
    """A "Rank indicators" button over the ranked list.

    Parameters
    ----------
    rank : callable
        ``rank() -> (key, entries)``: ranks the indicators for the current inputs; ``key``
        identifies those inputs (what-if version and weights).
    """

    def __init__(self, rank: Callable[[], tuple[Hashable, list[WatchEntry]]]):
        self._rank = rank
        self.key: Hashable | None = None
        self.entries: list[WatchEntry] = []
        self.last_ms = float("nan")
        self.button = w.Button(description="Rank indicators", icon="sort-amount-desc")
        self.button.add_class("rank-indicators-button")
        self.view = html("<p>Press <b>Rank indicators</b> to see which indicators would tell "
                         "the most over the next 3 months.</p>")
        self.view.add_class("watch-panel")
        self.button.on_click(lambda _: self.update())
        self.box = w.VBox([self.button, self.view])

    @property
    def live(self) -> bool:
        """Whether the ranking is cheap enough to redo on every refresh."""
        return self.last_ms < LIVE_MS

    def update(self) -> list[WatchEntry]:
        """Rank the indicators now and show the list (or the error)."""
        start = time.perf_counter()
        try:
            self.key, self.entries = self._rank()
        except Exception as exc:  # a failed ranking is shown, the dashboard goes on
            self.view.value = (f'<p style="color:{WARNING}">Ranking failed '
                               f"({esc(type(exc).__name__)}: {esc(exc)}).</p>")
            return []
        self.last_ms = (time.perf_counter() - start) * 1000
        self.view.value = watch_html(self.entries)
        return self.entries

    def forecast_changed(self, key: Hashable) -> None:
        """Called after each refresh: rerank when live, else flag a stale list."""
        if self.key is None or key == self.key:
            return
        if self.live:
            self.update()
        else:
            self.view.value = watch_html(self.entries, note="The inputs changed since this "
                                         "ranking: press Rank indicators to update it.")


def bar_html(influence: Influence, base: float) -> str:
    """A bar from the headline at the low to the high end of the quantity's range (0-100%)."""
    lead = influence.lead
    at_low, at_high = float(influence.at_low[lead]), float(influence.at_high[lead])
    left, right = sorted((at_low, at_high))
    tipping = ("" if influence.tipping is None else
               f"; tips to {esc(influence.tipping_to)} at {influence.tipping:.4g}")
    return (f'<div class="sensitivity-track" data-input="{esc(influence.quantity.path)}" '
            f'data-swing="{influence.swing:.6f}" style="position:relative;width:180px;'
            'height:12px;background:#eee;display:inline-block;vertical-align:middle">'
            f'<div style="position:absolute;left:{100 * left:.2f}%;width:'
            f'{max(100 * (right - left), 0.5):.2f}%;height:12px;background:#1b6ca8"></div>'
            f'<div style="position:absolute;left:{100 * base:.2f}%;width:1px;height:12px;'
            'background:#000"></div></div>'
            f"<span style='font-size:11px'> at {esc(figure(influence.quantity.low))}: "
            f"{pct(at_low)}, at {esc(figure(influence.quantity.high))}: {pct(at_high)}"
            f"{tipping}</span>")


class SensitivityPanel:
    """A "Find what drives it" button over a tornado of clickable bars.

    Clicking an input's bar selects its control: a weight's slider or an expectation's
    bound (its indicator is picked and the field gets the ``selected-control`` class);
    quantities with no dashboard control (path points, wander, walk) are named with the
    file to edit.

    Parameters
    ----------
    compute : callable
        ``compute(progress) -> (key, Sensitivity)`` for the current inputs; ``progress`` is
        called with (quantities done, quantities in all); ``key`` as for :class:`WatchPanel`.
    weights, expectations : WeightControls, ExpectationControls
        The controls a bar can select.
    priors_file : str
        The priors file as shown to the user (named for quantities with no control).
    """

    def __init__(self, compute: Callable[[Callable[[int, int], None]],
                                         tuple[Hashable, Sensitivity]],
                 weights: WeightControls, expectations: ExpectationControls,
                 priors_file: str = "the priors file"):
        self._compute = compute
        self._weights = weights
        self._expectations = expectations
        self._priors_file = priors_file
        self.key: Hashable | None = None
        self.result: Sensitivity | None = None
        self.selected: w.Widget | None = None
        self.bars: dict[str, w.Button] = {}
        self.button = w.Button(description="Find what drives it", icon="sliders")
        self.button.add_class("find-drivers-button")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0,
                                        layout=w.Layout(width="240px"))
        self.status = html("<p>Press <b>Find what drives it</b>: every prior quantity is "
                           "halved and doubled, one at a time (a few seconds).</p>")
        self.status.add_class("sensitivity-status")
        self.rows = w.VBox([])
        self.rows.add_class("sensitivity-panel")
        self.button.on_click(lambda _: self.update())
        style = html(f"<style>.{SELECTED} {{outline: 3px solid #E8A33D; outline-offset: "
                     "1px;}</style>")
        self.box = w.VBox([style, w.HBox([self.button, self.progress]), self.status,
                           self.rows])

    def _progress(self, done: int, total: int) -> None:
        self.progress.value = done / total if total else 1.0

    def update(self) -> Sensitivity | None:
        """Run the sensitivity analysis now and show its bars (or the error)."""
        self.button.disabled = True
        self.progress.value = 0.0
        try:
            self.key, self.result = self._compute(self._progress)
        except Exception as exc:  # a failed analysis is shown, the dashboard goes on
            self.status.value = (f'<p style="color:{WARNING}">Sensitivity failed '
                                 f"({esc(type(exc).__name__)}: {esc(exc)}).</p>")
            return None
        finally:
            self.button.disabled = False
        self.progress.value = 1.0
        self._show(self.result)
        return self.result

    def _show(self, result: Sensitivity, note: str = "") -> None:
        lead = result.lead
        base = float(result.probabilities[lead])
        stale = f'<p style="color:{WARNING}">{esc(note)}</p>' if note else ""
        self.status.value = (f"{stale}<p>P({esc(result.labels[lead])}) = {pct(base)}: each "
                             f"input halved and doubled ({len(result.influences)} inputs, "
                             f"{result.seconds:.1f} s). Click an input to select its "
                             "control.</p>")
        self.bars = {}
        rows = []
        for influence in result.top(SENSITIVITY_TOP):
            path = influence.quantity.path
            bar = w.Button(description=shorten(influence.quantity.label, 38), tooltip=path,
                           layout=w.Layout(width="290px"))
            bar.add_class("sensitivity-bar")
            bar.on_click(lambda _, path=path: self.select(path))
            self.bars[path] = bar
            rows.append(w.HBox([bar, html(bar_html(influence, base))]))
        self.rows.children = rows

    def select(self, path: str) -> str:
        """Select the control of ``path`` (a :mod:`toolkit.model.variations` path)."""
        parts = path.split(".")
        control: w.Widget | None = None
        where = path
        if parts[0] == "scenarios" and parts[-1] == "weight":
            control = self._weights.sliders.get(parts[1])
            where = "its prior weight slider"
        elif parts[0] == "expectations" and len(parts) == 4 and parts[3] in ("low", "high"):
            row = self._expectations.rows.get((parts[1], parts[2]))
            if row is not None:
                self._expectations.picker.value = parts[1]
                control = getattr(row, parts[3])
            where = f"the {parts[3]} bound of {parts[1]} under {parts[2]}"
        if control is None:
            message = f"{path} has no dashboard control: edit it in {self._priors_file}."
        else:
            if self.selected is not None:
                self.selected.remove_class(SELECTED)
            control.add_class(SELECTED)
            self.selected = control
            message = f"Selected {where} ({path})."
        self.status.value = f"<p>{esc(message)}</p>"
        return message

    def is_current(self, key: Hashable) -> bool:
        """Whether the bars shown were computed for the inputs ``key`` (exports add them)."""
        return self.result is not None and key == self.key

    def forecast_changed(self, key: Hashable) -> None:
        """Called after each refresh: flag bars computed for other inputs."""
        if self.result is not None and self.key is not None and key != self.key:
            self._show(self.result, note="The inputs changed since this analysis: press "
                       "Find what drives it to update it.")


def default_runner(case: Any, **options: Any) -> Any:
    """:func:`toolkit.outputs.dynamic_forecast.run_dynamic`, imported when first used."""
    from toolkit.outputs.dynamic_forecast import run_dynamic

    return run_dynamic(case, **options)


class DynamicPanel:
    """A "Run dynamic model" button, its progress (a bar per chain, Cancel) and the timeline.

    The fit runs on a worker thread inside a kernel (:class:`~.background.Job`), so the
    rest of the dashboard stays live; without a kernel it runs at once.

    Parameters
    ----------
    inputs : callable
        ``inputs() -> (case, options)`` for the runner (as-of date, seed, weights).
    runner : callable, optional
        ``runner(case, progress=..., on_chains=..., stop=..., **options) -> DynamicForecast``;
        default :func:`toolkit.outputs.dynamic_forecast.run_dynamic`.
    """

    def __init__(self, inputs: Callable[[], tuple[Any, dict[str, Any]]],
                 runner: Callable[..., Any] | None = None):
        self._inputs = inputs
        self.runner = runner or default_runner
        self.result: Any = None
        self._finished_now: Any = None  # the result of a run that finished within run()
        self.button = w.Button(description="Run dynamic model", icon="play")
        self.button.add_class("run-dynamic-button")
        self.status = html("<p>The dynamic (monthly regime) model samples with PyMC and takes "
                           "tens of seconds.</p>")
        self.status.add_class("dynamic-status")
        self.chart = html("")
        self.chart.add_class("timeline-chart")
        self.job = Job("Dynamic model")
        self.chains = ChainBars()
        self.button.on_click(lambda _: self.run())
        self.box = w.VBox([self.button, self.job.box, self.chains.box, self.status, self.chart])

    def _progress(self, message: str, fraction: float) -> None:
        self.job.bar.value = min(max(float(fraction), 0.0), 1.0)
        shown = "sampling" if message.startswith("sampling:") else message  # chains: below
        self.job.message.value = esc(f"{shown} ({fraction:.0%})")
        self.status.value = f"<p>Running: {esc(shown)} ({fraction:.0%})</p>"

    def run(self) -> Any:
        """Run the dynamic model and show its timeline; failures show a message.

        Returns
        -------
        DynamicForecast or None
            The result when the run finished on this thread (no kernel); ``None`` when it
            failed (the status line says why) or runs in the background.
        """
        if self.job.running:
            return None
        self.button.disabled = True
        self.chains.show([])
        self._progress("starting", 0.0)
        case, options = self._inputs()

        def work(_step: Callable[..., None]) -> Any:
            from toolkit.outputs.charts.timeline import timeline_chart

            result = self.runner(case, progress=self._progress, on_chains=self.chains.show,
                                 stop=self.job.stop_flag, **options)
            return result, inline_svg(freeze_layout(timeline_chart(result)),
                                      salt="dashboard-timeline")

        self._finished_now = None
        self.job.start(work, self._finished)
        return self._finished_now

    def _finished(self, outcome: Any, error: BaseException | None) -> None:
        self.button.disabled = False
        if isinstance(error, Cancelled):
            self._failed("The dynamic model run was cancelled.")
        elif isinstance(error, ImportError):
            self._failed(f"The dynamic model is unavailable here ({error}).")
        elif isinstance(error, CaseError):
            self._failed(f"The dynamic model refused the case: {error}")
        elif error is not None:  # any sampler or drawing failure is shown, never lost
            self._failed(f"The dynamic model failed ({type(error).__name__}: {error}).")
        else:
            self.result, self.chart.value = outcome
            self._finished_now = self.result
            warning = "" if self.result.converged else (
                f'<p style="color:{WARNING};font-weight:bold">NOT CONVERGED: do not use '
                "these numbers as final.</p>")
            self.status.value = f"{warning}<p><b>{esc(self.result.headline())}</b></p>"

    def _failed(self, message: str) -> None:
        self.status.value = f'<p style="color:{WARNING}">{esc(message)}</p>'
