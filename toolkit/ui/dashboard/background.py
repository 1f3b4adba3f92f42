"""Long dashboard work off the kernel's main thread, with progress and a Cancel button.

An export writes a score of charts in three formats (seconds to tens of seconds). Run on the
kernel's thread it would freeze every slider; :class:`Job` runs it on a worker thread
instead, so the controls stay live, shows each step on a progress bar and stops at the next
step when *Cancel* is pressed. Without a running event loop (plain Python, the tests) the
work runs at once on the caller's thread, exactly as before.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w

from toolkit.inference.sampling import Cancelled, ChainState
from toolkit.ui.dashboard.views import esc

__all__ = ["Cancelled", "ChainBars", "Job", "in_kernel"]


def in_kernel() -> bool:
    """Whether an event loop is running (a kernel): then work goes to a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class Job:
    """One kind of long work (e.g. "Export"): a progress bar, a message and a Cancel button.

    Parameters
    ----------
    name : str
        What the work is, for the messages ("Export").
    background : bool, optional
        Run on a worker thread (default: when inside a kernel, see :func:`in_kernel`).
    """

    def __init__(self, name: str, background: bool | None = None):
        self.name = name
        self.background = background
        self.thread: threading.Thread | None = None
        #: The last step shown, as plain text.
        self.step = ""
        self._cancel = threading.Event()
        self.bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="200px"))
        self.message = w.HTML("")
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True,
                                      layout=w.Layout(width="90px"))
        self.cancel_button.add_class(f"cancel-{name.lower()}-button")
        self.cancel_button.on_click(lambda _: self.cancel())
        self.box = w.HBox([self.bar, self.cancel_button, self.message])

    @property
    def running(self) -> bool:
        """Whether the work is under way on its thread.

        A call from that thread does not count: its ``finished`` callback may start the next
        run.
        """
        return (self.thread is not None and self.thread.is_alive()
                and self.thread is not threading.current_thread())

    @property
    def stop_flag(self) -> threading.Event:
        """Set once *Cancel* was pressed: for work that polls (a sampler) rather than steps."""
        return self._cancel

    def cancel(self) -> None:
        """Ask the work to stop at its next step."""
        self._cancel.set()

    def progress(self, done: int, total: int, what: str = "") -> None:
        """Show a step; raise :class:`Cancelled` if *Cancel* was pressed."""
        if self._cancel.is_set():
            raise Cancelled
        self.bar.value = done / total if total else 1.0
        self.step = f"{done} of {total}{' - ' + what if what else ''}"
        self.message.value = esc(f"{self.name}: {self.step}")

    def start(self, work: Callable[[Callable[..., None]], Any],
              finished: Callable[[Any, BaseException | None], None]) -> bool:
        """Run ``work(progress)``, then ``finished(result, error)`` (``Cancelled`` included).

        Returns
        -------
        bool
            ``False`` (and nothing started) while the previous run is still under way.
        """
        if self.running:
            return False
        self._cancel.clear()
        self.step, self.message.value = "", ""
        self.bar.value, self.bar.bar_style = 0.0, ""
        self.cancel_button.disabled = False

        def run() -> None:
            result, error = None, None
            try:
                result = work(self.progress)
            except BaseException as exc:  # reported to finished(), never lost in a thread
                error = exc
            self.cancel_button.disabled = True
            self.bar.bar_style = "success" if error is None else (
                "warning" if isinstance(error, Cancelled) else "danger")
            try:
                finished(result, error)
            except Exception as exc:  # on a thread nobody would see it: show it
                self.bar.bar_style = "danger"
                self.message.value = esc(f"{self.name} failed while reporting "
                                         f"({type(exc).__name__}: {exc})")

        background = in_kernel() if self.background is None else self.background
        if background:
            self.thread = threading.Thread(target=run, name=f"dashboard-{self.name}",
                                           daemon=True)
            self.thread.start()
        else:
            run()
        return True


class ChainBars:
    """One progress bar per sampler chain: draws done (warm-up first), divergences shown.

    ``show`` is the ``on_chains`` callback of :func:`toolkit.inference.sampling.sample_nutpie`
    (it runs on the sampler's thread; widget updates are thread-safe messages).
    """

    def __init__(self) -> None:
        self.box = w.VBox([])
        self.box.add_class("chain-bars")

    @property
    def bars(self) -> tuple[w.FloatProgress, ...]:
        """The bars shown, chain 1 first."""
        return tuple(self.box.children)

    def show(self, states: Sequence[ChainState]) -> None:
        """Set one bar per chain (bars are made or dropped to match the chains)."""
        bars = list(self.box.children)
        if len(bars) != len(states):
            bars = [w.FloatProgress(value=0.0, min=0.0, max=1.0, description=f"chain {i + 1}",
                                    layout=w.Layout(width="330px"))
                    for i in range(len(states))]
            self.box.children = bars
        for number, (bar, state) in enumerate(zip(bars, states, strict=True), start=1):
            bar.value = state.fraction
            bar.bar_style = "warning" if state.divergences else (
                "info" if state.tuning else "success" if state.fraction >= 1 else "")
            bar.tooltip = state.describe(number)
