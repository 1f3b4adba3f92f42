"""The fits' worker processes: same numbers anywhere, cancellation across processes."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from toolkit.families import FAMILIES
from toolkit.families.observation import Observation
from toolkit.inference.sampling import Cancelled
from toolkit.inference.smc.paths import PathDesign
from toolkit.inference.smc.sampler import fit_slot
from toolkit.inference.smc.workers import RunFlag, executor, run_group

COUNTS = FAMILIES["gamma_poisson"]
ITEMS = [Observation("a", "x", 3.0, 20, 60, 0.7, mixture=True, log_ref=-3.0, start=300,
                     end=303),
         Observation("b", "x", 6.0, 100, 100, 1.0, start=303, end=309)]
TASK = (COUNTS, (1.5, 0.05), PathDesign.for_observations(None, ITEMS), ITEMS, [7, 8, 9])


def test_a_group_is_the_sampler_on_its_own_stream_in_a_worker_or_here() -> None:
    """``run_group`` in a worker process equals ``fit_slot`` on ``(seeds, group, tag)`` here."""
    here = fit_slot(*TASK[:4], 300, 2, np.random.default_rng([7, 8, 9, 1, 20261204]))
    pool = executor(2)
    there = pool.submit(run_group, *TASK, 300, 2, 1).result()
    np.testing.assert_array_equal(there.chain_cumulative, here.chain_cumulative)
    np.testing.assert_array_equal(there.levels, here.levels)
    other = pool.submit(run_group, *TASK, 300, 2, 2).result()  # another group: other numbers
    assert not np.array_equal(other.chain_cumulative, here.chain_cumulative)
    assert len({pool.submit(os.getpid).result() for _ in range(8)} - {os.getpid()}) >= 1


def test_a_set_flag_stops_the_runs_fits_and_leaving_it_clears_it() -> None:
    with RunFlag() as flag:
        assert run_group(*TASK, 200, 2, 0, flag=flag.path).levels.shape == (2, 200)
        flag.set()
        with pytest.raises(Cancelled):
            run_group(*TASK, 200, 2, 0, flag=flag.path)
        with pytest.raises(Cancelled):  # in a worker process too
            executor(2).submit(run_group, *TASK, 200, 2, 0, flag.path).result()
        path = flag.path
    assert not os.path.exists(path)
    assert RunFlag().path != path  # each run its own flag
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):  # in this process: the run's event
        run_group(*TASK, 200, 2, 0, stop=stop)


def test_a_cancelled_run_returns_at_once_while_its_fits_run_in_workers(tmp_path,
                                                                        repo_root) -> None:
    """The run raises within a poll (0.05 s) of its stop; its fits in the workers stop too."""
    from tests.inference.test_pymc_paths import _paths_inputs
    from toolkit.inference.engines import pymc_paths

    case, observations = _paths_inputs(tmp_path, repo_root, 4)
    pymc_paths.clear_cache()
    stop = threading.Event()
    seen: list[float] = []
    stopped: list[float] = []

    def progress(message: str, fraction: float) -> None:
        seen.append(fraction)
        if len(seen) == 2:
            stop.set()
            stopped.append(time.perf_counter())

    with pytest.raises(Cancelled):
        pymc_paths.run_paths(case, observations, 11, 4000, 4, progress=progress, stop=stop,
                             workers=2)
    assert len(seen) == 2 and time.perf_counter() - stopped[0] < 0.5
    pymc_paths.clear_cache()


def _fit_in_a_daemon(queue) -> None:  # the body of a daemonic process (a Dask worker's kind)
    from toolkit.inference.smc.workers import executor as pool_for
    from toolkit.inference.smc.workers import usable

    pool = pool_for(2)
    fit = pool.submit(run_group, *TASK, 200, 2, 0).result()
    queue.put((usable(2), type(pool).__name__, fit.chain_cumulative.tolist()))


def test_a_daemonic_process_fits_in_itself() -> None:
    """Before: a Dask worker (daemonic) failed, "daemonic processes are not allowed to have
    children"; now its fits run in it, with the same numbers."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_fit_in_a_daemon, args=(queue,), daemon=True)
    process.start()
    workers, kind, chains = queue.get(timeout=60)
    process.join(timeout=30)
    assert (workers, kind) == (1, "ThreadPoolExecutor")
    here = run_group(*TASK, 200, 2, 0)
    np.testing.assert_array_equal(np.asarray(chains), here.chain_cumulative)


def test_a_run_after_a_worker_died_starts_new_workers(tmp_path, repo_root) -> None:
    """Before: every later run failed with BrokenProcessPool; now it retries on a new pool."""
    from concurrent.futures import BrokenExecutor

    from tests.inference.test_pymc_paths import _paths_inputs
    from toolkit.inference.engines import pymc_paths

    case, observations = _paths_inputs(tmp_path, repo_root, 6)
    with pytest.raises(BrokenExecutor):
        executor(2).submit(os._exit, 1).result()  # a worker killed (out of memory, say)
    fractions: list[float] = []
    pymc_paths.clear_cache()
    there = pymc_paths.run_paths(case, observations, 3, 200, 2, workers=2,
                                 progress=lambda message, fraction: fractions.append(fraction))
    pymc_paths.clear_cache()
    here = pymc_paths.run_paths(case, observations, 3, 200, 2, workers=1)
    np.testing.assert_array_equal(there.increments, here.increments)
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(0.95)
    assert executor(2).submit(os.getpid).result() != os.getpid()


ORPHAN = """
import os, sys, time
from tests.inference.test_smc_workers import ITEMS, TASK
from toolkit.inference.smc.workers import executor, run_group
pool = executor(2)
pids = sorted({pool.submit(os.getpid).result() for _ in range(16)})
long = [*ITEMS] * 40  # a long fit: many items, many particles
task = (*TASK[:3], long, TASK[4])
futures = [pool.submit(run_group, *task, 20000, 4, g, None, None, os.getpid()) for g in (0, 1)]
print(*pids, flush=True)
time.sleep(600)
"""


def test_workers_stop_their_fits_when_the_process_that_asked_dies(repo_root) -> None:
    """Before: a killed run's workers ran on, orphaned, to the end of their fits."""
    import signal
    import subprocess
    import sys

    with subprocess.Popen([sys.executable, "-c", ORPHAN], cwd=repo_root,
                          stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert workers and parent.pid not in workers
        time.sleep(1.0)  # the fits are running
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 20
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in workers if _running(pid)]
    assert not alive, f"workers {alive} still running after their parent died"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split()[2] != "Z"  # a zombie has stopped
    except FileNotFoundError:
        return False
