"""Worker processes for the latent paths' fits: the second core, which threads could not use.

A slot's fit is NumPy on arrays of a few thousand particles: many short calls, each holding
the interpreter lock for much of its time. Measured on 2 cores (2026-12-04): two fits took
0.27 s one after the other and 0.29 s on two threads, while two processes each ran at full
speed. The fits therefore run in a pool of worker processes (joblib's loky executor: started
once and kept, safe beside the dashboard's threads, and unlike :mod:`multiprocessing`'s
``spawn`` it does not re-run the caller's script, so scripts need no ``__main__`` guard).
Each fit's random numbers depend only on its seeds (:func:`run_group`), so where it runs
never changes a number.

A cancelled run marks its flag (:class:`RunFlag`, a file: visible to every process); its
fits still running stop at their next item.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import tempfile
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from joblib.externals.loky import ProcessPoolExecutor

from toolkit.families.base import Family
from toolkit.families.observation import Observation
from toolkit.inference.sampling import Cancelled, StopFlag, check_stop
from toolkit.inference.smc.paths import PathDesign
from toolkit.inference.smc.sampler import SlotFit, fit_slot

#: Seconds an idle worker process is kept (a new one imports the sampler: about a second).
IDLE_SECONDS = 3600
_RUNS = itertools.count()
_POOLS: dict[int, ProcessPoolExecutor] = {}
_LOCK = threading.Lock()


def run_group(family: Family, params: tuple[float, ...], design: PathDesign,
              observations: list[Observation], seeds: list[int], size: int, chains: int,
              group: int, flag: str | None = None, stop: StopFlag | None = None,
              parent: int | None = None) -> SlotFit:
    """One group of a slot's chains on its own random stream ``(seeds, group)``.

    ``flag`` is the run's cancel flag (a path; in a worker process), ``stop`` its event (in
    the calling process); either stops the fit between items. Once the process ``parent``
    that asked for the fit has died the worker exits there: orphaned, it would otherwise
    run to the end of its fit (measured: minutes of both cores after a killed calibration)
    and then wait for work that never comes.
    """
    rng = np.random.default_rng([*seeds, group, 20261204])

    def check() -> None:
        if parent is not None and os.getppid() != parent:
            os._exit(0)  # nobody is left to take the fit (or any later one)
        if flag is not None and os.path.exists(flag):
            raise Cancelled
        check_stop(stop)

    return fit_slot(family, params, design, observations, size, chains, rng, check=check)


def usable(workers: int) -> int:
    """The worker processes this process can use: ``workers``, or 1 in a daemonic process.

    A daemonic process (a Dask worker of a sweep or backtest, whose scheduler already keeps
    the cores busy) may not start processes: its fits run in it.
    """
    return 1 if multiprocessing.current_process().daemon else max(1, workers)


def executor(workers: int) -> Executor:
    """The kept pool of ``workers`` processes, or one thread here for ``workers <= 1``.

    The thread's executor is new (shut it down after use). The processes' pool is this
    module's own (not joblib's shared one, which another library's ``joblib.Parallel``
    would resize under running fits); :func:`forget` it once a worker has died.
    """
    if usable(workers) <= 1:
        return ThreadPoolExecutor(max_workers=1)
    with _LOCK:
        if workers not in _POOLS:
            _POOLS[workers] = ProcessPoolExecutor(max_workers=workers, timeout=IDLE_SECONDS)
        return _POOLS[workers]


def forget(workers: int) -> None:
    """Drop the pool of ``workers`` processes (broken: a worker died); the next is new."""
    with _LOCK:
        pool = _POOLS.pop(workers, None)
    if pool is not None:
        pool.shutdown(wait=False, kill_workers=True)


class RunFlag:
    """One run's cancel flag: :attr:`path` for its fits, :meth:`set` to stop them.

    Use as a context manager; leaving it removes the flag.
    """

    def __init__(self) -> None:
        self.path = str(Path(tempfile.gettempdir())
                        / f"scenario-toolkit-cancel-{os.getpid()}-{next(_RUNS)}")

    def set(self) -> None:
        """Tell this run's fits in the workers to stop."""
        Path(self.path).touch()

    def __enter__(self) -> RunFlag:
        return self

    def __exit__(self, *exc: object) -> None:
        Path(self.path).unlink(missing_ok=True)


__all__ = ["IDLE_SECONDS", "RunFlag", "executor", "forget", "run_group", "usable"]
