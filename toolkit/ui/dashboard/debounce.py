"""Debouncing: many control changes in quick succession cause one redraw, not a queue."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Debouncer:
    """Run ``action`` once changes stop arriving for ``delay`` seconds.

    Inside a kernel (a running asyncio loop) calls are coalesced with ``loop.call_later``;
    without a loop (plain Python, tests) or with ``delay <= 0`` the action runs at once.
    """

    def __init__(self, action: Callable[[], None], delay: float,
                 on_error: Callable[[BaseException], None]):
        self.action = action
        self.delay = delay
        self.on_error = on_error
        self._handle: asyncio.TimerHandle | None = None

    def __call__(self) -> None:
        """Request the action."""
        try:
            loop = asyncio.get_running_loop() if self.delay > 0 else None
        except RuntimeError:
            loop = None
        if loop is None:
            self.action()
            return
        if self._handle is not None:
            self._handle.cancel()
        self._handle = loop.call_later(self.delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        try:
            self.action()
        except Exception as exc:  # a timer callback has no caller to report to
            self.on_error(exc)
