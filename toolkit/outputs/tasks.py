"""Many forecasts as tasks: in this process, or on Dask (a ``LocalCluster`` or a real cluster).

The same function runs the same chunks either way, so a distributed run gives the numbers
of a serial one. With Dask the case is sent to every worker once (``Client.scatter`` with
``broadcast``), and each worker process keeps one :class:`~toolkit.outputs.variants.Variants`
per case and date (:func:`variants_for`), so its per-indicator terms and any compiled model
are reused across tasks. Results come back in submission order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from toolkit.core.errors import CaseError, Problem
from toolkit.outputs.variants import Variants

#: Each worker process's forecasters, by the key of the shared work (:func:`variants_for`).
_VARIANTS: dict[tuple, Variants] = {}


def variants_for(shared: dict[str, Any]) -> Variants:
    """The :class:`Variants` of ``shared`` in this process (built once, then reused)."""
    key = (shared["case"].name, tuple(sorted(shared["case"].input_hashes.items())),
           shared["as_of"], shared["engine"], shared["seed"])
    if key not in _VARIANTS:
        _VARIANTS[key] = Variants(shared["case"], shared["as_of"], shared["engine"],
                                  shared["seed"])
    return _VARIANTS[key]


class Runner:
    """Runs ``func(shared, chunk)`` for every chunk, serially or on Dask.

    Parameters
    ----------
    scheduler : str or None
        ``"serial"``: in this process. ``None`` or ``"local"``: a ``LocalCluster`` on
        127.0.0.1 with
        ``workers`` single-threaded worker processes. Anything else: the address of a
        running Dask scheduler (``tcp://host:8786``).
    workers : int
        Worker processes of the ``LocalCluster``.
    progress : callable, optional
        Called with (chunks done, chunks in all) as chunks finish.
    connect_timeout : float
        Seconds to wait for a scheduler at an address.

    Notes
    -----
    Use as a context manager: the cluster (if any) starts on entry and stops on exit.
    """

    def __init__(self, scheduler: str | None = None, workers: int = 2,
                 progress: Callable[[int, int], None] | None = None,
                 connect_timeout: float = 20.0) -> None:
        self.scheduler = scheduler
        self.workers = workers
        self.progress = progress
        self.connect_timeout = connect_timeout
        self.client: Any = None
        self._cluster: Any = None

    @property
    def where(self) -> str:
        """Where the work runs, in words (for progress lines and manifests)."""
        if self.scheduler == "serial":
            return "serially in this process"
        if self.scheduler in (None, "local"):
            return f"on a Dask LocalCluster of {self.workers} workers"
        return f"on the Dask scheduler at {self.scheduler}"

    def __enter__(self) -> Runner:
        if self.scheduler == "serial":
            return self
        from distributed import Client, LocalCluster

        if self.scheduler in (None, "local"):
            os.environ.setdefault("MPLBACKEND", "Agg")
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                         processes=True, host="127.0.0.1",
                                         dashboard_address=None, silence_logs=40)
            self.client = Client(self._cluster)
            return self
        try:
            self.client = Client(self.scheduler, timeout=self.connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise CaseError([Problem("--scheduler", None, "--scheduler",
                                     f"no Dask scheduler answered at {self.scheduler!r} "
                                     f"({reason})", "start one (dask scheduler) and give its "
                                     "address as tcp://HOST:8786, or use local or serial")]
                            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def map(self, func: Callable[[Any, Any], list], shared: Any,
            chunks: Sequence[Any]) -> list:
        """``func(shared, chunk)`` of every chunk, concatenated in chunk order."""
        done: list[list] = []
        if self.client is None:
            for n, chunk in enumerate(chunks, start=1):
                done.append(func(shared, chunk))
                if self.progress is not None:
                    self.progress(n, len(chunks))
            return [row for part in done for row in part]
        from distributed import as_completed

        handle = self.client.scatter(shared, broadcast=True, hash=False)
        futures = [self.client.submit(func, handle, chunk, pure=False) for chunk in chunks]
        for n, _ in enumerate(as_completed(futures), start=1):
            if self.progress is not None:
                self.progress(n, len(futures))
        return [row for future in futures for row in future.result()]
