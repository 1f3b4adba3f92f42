"""One in-process cache of costly results, keyed, safe across threads.

Both samplers (the PyMC engine and the dynamic model) compile a nutpie model once per
structure and swap data between runs; :class:`CompiledCache` is that cache. PyTensor's own
disk cache serves later processes. The report and the dashboard keep their sensitivity
analyses in one too, bounded by ``limit``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any


class CompiledCache:
    """Compiled models (or other costly results) by key; computed under a lock on first use.

    Parameters
    ----------
    limit : int, optional
        Keep at most this many, forgetting the oldest first (default: no limit).
    """

    def __init__(self, limit: int | None = None) -> None:
        self._models: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self.limit = limit

    def get(self, key: Hashable, compile_model: Callable[[], Any]) -> tuple[Any, float]:
        """The model for ``key``, compiling it with ``compile_model()`` if it is new.

        Returns
        -------
        model : Any
            The compiled model.
        seconds : float
            Seconds spent compiling now (0 when it came from the cache).
        """
        with self._lock:
            if key in self._models:
                return self._models[key], 0.0
            start = time.perf_counter()
            model = compile_model()
            self._keep(key, model)
            return model, time.perf_counter() - start

    def find(self, key: Hashable) -> tuple[bool, Any]:
        """``(True, value)`` if ``key`` is kept, else ``(False, None)`` (nothing computed)."""
        with self._lock:
            return (True, self._models[key]) if key in self._models else (False, None)

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` for ``key`` (computed elsewhere, e.g. on worker threads)."""
        with self._lock:
            self._keep(key, value)

    def _keep(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key``, forgetting the oldest beyond ``limit`` (lock held)."""
        self._models.pop(key, None)
        while self.limit is not None and len(self._models) >= max(self.limit, 1):
            self._models.pop(next(iter(self._models)))
        self._models[key] = value

    def clear(self) -> None:
        """Forget every compiled model (the next run compiles again)."""
        with self._lock:
            self._models.clear()
