"""One in-process cache of compiled models, keyed by model structure, safe across threads.

Both samplers (the PyMC engine and the dynamic model) compile a nutpie model once per
structure and swap data between runs; :class:`CompiledCache` is that cache. PyTensor's own
disk cache serves later processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any


class CompiledCache:
    """Compiled models by structure key; compiles under a lock on first use."""

    def __init__(self) -> None:
        self._models: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

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
            self._models[key] = compile_model()
            return self._models[key], time.perf_counter() - start

    def clear(self) -> None:
        """Forget every compiled model (the next run compiles again)."""
        with self._lock:
            self._models.clear()
