"""nutpie in the background: per-chain progress, cancellation, the same draws as blocking."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from toolkit.inference.sampling import Cancelled, ChainState, check_stop, sample_nutpie


@pytest.fixture(scope="module")
def compiled():
    nutpie = pytest.importorskip("nutpie")
    import pymc as pm

    with pm.Model() as model:
        pm.Normal("x", 1.0, 2.0, shape=3)
    return nutpie.compile_pymc_model(model)


def test_chain_state_reads_like_a_progress_line():
    state = ChainState(640, 1300, True, 0)
    assert state.fraction == pytest.approx(640 / 1300)
    assert state.describe(2) == "chain 2: 640/1300 (tuning)"
    assert ChainState(1300, 1300, False, 3).describe(1) == "chain 1: 1300/1300, 3 divergent"
    assert ChainState(0, 0, True, 0).fraction == 0.0


def test_check_stop_raises_only_once_set():
    flag = threading.Event()
    check_stop(flag)
    check_stop(None)
    flag.set()
    with pytest.raises(Cancelled):
        check_stop(flag)


def test_background_sampling_reports_every_chain_and_matches_blocking(compiled):
    import nutpie

    seen: list[list[ChainState]] = []
    fractions: list[float] = []
    trace = sample_nutpie(compiled, draws=2000, tune=500, chains=2, cores=2, seed=7,
                          on_chains=seen.append,
                          progress=lambda message, f: fractions.append(f), span=(0.1, 0.9))
    blocking = nutpie.sample(compiled, draws=2000, tune=500, chains=2, cores=2, seed=7,
                             progress_bar=False, save_warmup=False)
    np.testing.assert_array_equal(trace["posterior"]["x"].values,
                                  blocking["posterior"]["x"].values)
    assert seen and all(len(states) == 2 for states in seen)
    assert [s.done for s in seen[-1]] == [2500, 2500] and not any(s.tuning for s in seen[-1])
    assert all(0.1 <= f <= 0.9 for f in fractions)
    draws = trace["posterior"]["x"].values
    assert draws.shape == (2, 2000, 3) and abs(draws.mean() - 1.0) < 0.2


def test_a_set_stop_flag_aborts_the_sampler_quickly(compiled):
    stop = threading.Event()

    def on_chains(states):
        if any(s.done for s in states):
            stop.set()

    start = time.perf_counter()
    with pytest.raises(Cancelled):
        sample_nutpie(compiled, draws=10_000_000, tune=500, chains=2, cores=2, seed=1,
                      on_chains=on_chains, stop=stop)
    assert time.perf_counter() - start < 10  # ten million draws would take minutes
    with pytest.raises(Cancelled):  # set before: nothing starts
        sample_nutpie(compiled, draws=10, tune=10, chains=1, cores=1, seed=1, stop=stop)
