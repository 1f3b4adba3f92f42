"""Dashboard panels run on request: "What to watch next" and the dynamic model's timeline.

Both computations are slower than a redraw: ranking the indicators
(:func:`toolkit.outputs.watch.watch`, exact engine) takes a few hundred milliseconds on the bundled
case, and the dynamic model (:func:`toolkit.outputs.dynamic_forecast.run_dynamic`) samples with
PyMC for tens
of seconds. So each panel has a button. The watch ranking is redone with every forecast
refresh only when its last run took under :data:`LIVE_MS`; otherwise the panel says the
ranking is out of date until the button is pressed again. Every text is escaped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

import ipywidgets as w

from toolkit.core.errors import CaseError
from toolkit.outputs.charts import freeze_layout, inline_svg
from toolkit.outputs.watch import WatchEntry
from toolkit.ui.dashboard.controls import html
from toolkit.ui.dashboard.views import WARNING, esc, pct

#: A watch ranking faster than this (milliseconds) is redone on every refresh.
LIVE_MS = 200.0
#: Indicators shown in the watch panel.
WATCH_TOP = 5


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


def default_runner(case: Any, **options: Any) -> Any:
    """:func:`toolkit.outputs.dynamic_forecast.run_dynamic`, imported when first used."""
    from toolkit.outputs.dynamic_forecast import run_dynamic

    return run_dynamic(case, **options)


class DynamicPanel:
    """A "Run dynamic model" button with a status line and the timeline chart.

    Parameters
    ----------
    inputs : callable
        ``inputs() -> (case, options)`` for the runner (as-of date, seed, weights).
    runner : callable, optional
        ``runner(case, progress=..., **options) -> DynamicForecast``; default
        :func:`toolkit.outputs.dynamic_forecast.run_dynamic`.
    """

    def __init__(self, inputs: Callable[[], tuple[Any, dict[str, Any]]],
                 runner: Callable[..., Any] | None = None):
        self._inputs = inputs
        self.runner = runner or default_runner
        self.result: Any = None
        self.button = w.Button(description="Run dynamic model", icon="play")
        self.button.add_class("run-dynamic-button")
        self.status = html("<p>The dynamic (monthly regime) model samples with PyMC and takes "
                           "tens of seconds.</p>")
        self.status.add_class("dynamic-status")
        self.chart = html("")
        self.chart.add_class("timeline-chart")
        self.button.on_click(lambda _: self.run())
        self.box = w.VBox([self.button, self.status, self.chart])

    def _progress(self, message: str, fraction: float) -> None:
        self.status.value = f"<p>Running: {esc(message)} ({fraction:.0%})</p>"

    def run(self) -> Any:
        """Run the dynamic model and show its timeline; failures show a message.

        Returns
        -------
        DynamicForecast or None
            The result, or ``None`` when it failed (the status line says why).
        """
        from toolkit.outputs.charts.timeline import timeline_chart

        self.button.disabled = True
        self._progress("starting", 0.0)
        try:
            case, options = self._inputs()
            result = self.runner(case, progress=self._progress, **options)
            svg = inline_svg(freeze_layout(timeline_chart(result)), salt="dashboard-timeline")
        except ImportError as exc:
            return self._failed(f"The dynamic model is unavailable here ({exc}).")
        except CaseError as exc:
            return self._failed(f"The dynamic model refused the case: {exc}")
        except Exception as exc:  # any sampler or drawing failure is shown, never lost
            return self._failed(f"The dynamic model failed ({type(exc).__name__}: {exc}).")
        finally:
            self.button.disabled = False
        self.result = result
        self.chart.value = svg
        warning = "" if result.converged else (
            f'<p style="color:{WARNING};font-weight:bold">NOT CONVERGED: do not use these '
            "numbers as final.</p>")
        self.status.value = f"{warning}<p><b>{esc(result.headline())}</b></p>"
        return result

    def _failed(self, message: str) -> None:
        self.status.value = f'<p style="color:{WARNING}">{esc(message)}</p>'
        return None
