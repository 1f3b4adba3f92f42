"""The dashboard's PyMC engine: runs in the background, a bar per chain, Cancel, live reruns.

A PyMC fit takes seconds to tens of seconds. :class:`PymcRunner` runs it on a worker thread
(:class:`~toolkit.ui.dashboard.background.Job`), so sliders stay live; nutpie reports every
chain several times a second (:func:`toolkit.inference.sampling.sample_nutpie`) and each
chain gets its own bar. *Cancel* stops the sampler within a tenth of a second. With the
engine toggle on "PyMC (live)" every change of the inputs (expectations, evidence, its
reliability) asks for a fresh fit: a run under way for older inputs is cancelled and the new
one queued behind it, so only the latest inputs are ever fitted. Weight changes need no fit
(``P(k | evidence) ∝ w_k m_k``). Without a kernel the work runs at once on the caller's
thread, which is how the tests drive it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as w

from toolkit.core.errors import CaseError
from toolkit.inference.engines import Engine, EngineResult
from toolkit.model.evidence import EvidenceItem
from toolkit.ui.dashboard.background import Cancelled, ChainBars, Job
from toolkit.ui.dashboard.views import esc


@dataclass(frozen=True)
class RunInputs:
    """What one fit reads: the inputs' version and the case, evidence and seed then."""

    version: int
    case: Any
    items: list[EvidenceItem]
    excluded: dict[str, list[str]]
    observations: list[Any]
    seed: int


class PymcRunner:
    """Draws and chains, *Run PyMC*, *Cancel*, the overall bar and one bar per chain.

    Parameters
    ----------
    engine_factory : callable
        ``engine_factory("pymc", draws=, chains=, progress=, on_chains=, stop=) -> Engine``.
    inputs : callable
        ``inputs() -> RunInputs`` for the current controls.
    succeeded : callable
        ``succeeded(inputs, result)`` with a finished fit (on the worker thread).
    failed : callable
        ``failed(message)``: why a fit could not run (refused case, missing package, error).
    background : bool, optional
        Run on a worker thread (default: inside a kernel).
    """

    def __init__(self, engine_factory: Callable[..., Engine],
                 inputs: Callable[[], RunInputs],
                 succeeded: Callable[[RunInputs, EngineResult], None],
                 failed: Callable[[str], None], background: bool | None = None):
        self.engine_factory = engine_factory
        self._inputs, self._succeeded, self._failed = inputs, succeeded, failed
        self.draws = w.BoundedIntText(value=2000, min=100, max=20000, step=100,
                                      description="draws", layout=w.Layout(width="170px"),
                                      tooltip="NUTS draws, or particles on the time-aware "
                                      "model, per chain")
        self.chains = w.BoundedIntText(value=4, min=1, max=16, description="chains",
                                       layout=w.Layout(width="150px"))
        self.run_button = w.Button(description="Run PyMC", icon="play", button_style="primary")
        self.run_button.on_click(lambda _: self.run())
        self.job = Job("PyMC", background)
        self.progress, self.progress_text = self.job.bar, self.job.message
        self.chains_view = ChainBars()
        self.chain_bars = self.chains_view.box
        self.box = w.VBox([w.HBox([self.draws, self.chains, self.run_button]), self.job.box,
                           self.chain_bars])
        self._engine: tuple[tuple[int, int], Engine] | None = None
        self._queued = False
        #: The inputs' version of the fit under way (or last started), and of a refused one.
        self.started: int | None = None
        self.refused: int | None = None
        self.runs = 0

    @property
    def running(self) -> bool:
        """Whether a fit is under way."""
        return self.job.running

    def request(self, version: int, fitted: int | None) -> None:
        """Live mode: fit ``version`` unless it is fitted, being fitted or was refused."""
        if version in (fitted, self.refused) or (self.running and self.started == version
                                                 and not self._queued):
            return
        self.run()

    def run(self) -> bool:
        """Fit the current inputs; a fit under way is cancelled and this one queued.

        Returns
        -------
        bool
            Whether a fit started now (``False``: queued behind the one being cancelled).
        """
        if self.job.running:
            self._queued = True
            self.job.cancel()
            return False
        self._queued = False
        inputs = self._inputs()
        self.started = inputs.version
        self.run_button.disabled = True
        self.chains_view.show([])

        def work(_step: Callable[..., None]) -> EngineResult:
            return self._engine_for().run(inputs.case, inputs.observations, inputs.seed)

        def finished(result: EngineResult | None, error: BaseException | None) -> None:
            self.run_button.disabled = False
            if isinstance(error, Cancelled):
                if self._queued:
                    self.run()
                else:
                    self.progress_text.value = "PyMC: cancelled"
                return
            if error is not None:
                self._fail(inputs, error)
                return
            assert result is not None
            self.runs += 1
            self.progress.value = 1.0
            converged = bool(result.diagnostics.get("converged", True))
            self.progress.bar_style = "success" if converged else "danger"
            self.progress_text.value = "PyMC: done" if converged else "PyMC: NOT CONVERGED"
            if self._queued:  # inputs changed while it finished: fit the new ones
                self.run()
            self._succeeded(inputs, result)

        self.job.start(work, finished)
        return True

    def cancel(self) -> None:
        """Stop the fit under way (nothing of it is kept) and drop a queued one."""
        self._queued = False
        self.job.cancel()

    def _engine_for(self) -> Engine:
        key = (int(self.draws.value), int(self.chains.value))
        if self._engine is None or self._engine[0] != key:  # same settings: same model
            engine = self.engine_factory("pymc", draws=key[0], chains=key[1],
                                         progress=self._progress, on_chains=self.chains_view.show,
                                         stop=self.job.stop_flag)
            self._engine = (key, engine)
        return self._engine[1]

    def _fail(self, inputs: RunInputs, error: BaseException) -> None:
        self.progress.bar_style = "danger"
        self.progress_text.value = "PyMC: failed"
        if isinstance(error, ImportError):
            message = f"The PyMC engine is unavailable here ({error}). The exact engine " \
                      "keeps working."
        elif isinstance(error, CaseError):
            self.refused = inputs.version
            message = f"The PyMC engine refused the case: {error}"
        else:
            message = (f"The PyMC run failed ({type(error).__name__}: {error}). The exact "
                       "engine keeps working.")
        self._failed(message)

    def _progress(self, message: str, fraction: float) -> None:
        self.progress.value = min(max(float(fraction), 0.0), 1.0)
        shown = "sampling" if message.startswith("sampling:") else message  # chains: below
        self.progress_text.value = esc(f"PyMC: {shown}")
