"""The PyMC model of the PyMC engine, compiled once per model structure with nutpie.

One model holds the sampled slots (indicator x scenario, given all of the indicator's items;
see :mod:`toolkit.inference.engines.pymc_layout`) of every family. Each slot's parameter is written
as ``u = center + scale * z`` with ``z`` flat: ``center`` and ``scale`` are data (the
location and width of that slot's posterior found by a grid), so NUTS sees well-scaled,
unimodal, independent coordinates. The target is the exact prior of ``u`` times the
tempered likelihood of the slot's observations (``pm.Potential``: an item of reliability
``r`` contributes ``r`` times its log-likelihood, the rule of :mod:`toolkit.model.reliability`).

Everything that changes between runs is ``pm.Data``, packed into three arrays (slot rows,
link rows and the number of links per group; :meth:`Layout.data`). Link rows are a
variable-length matrix sliced by the counts, so a new evidence item, a retraction, a new
prior or a new reliability reruns through ``compiled.with_data(...)`` without recompiling.
Compiled models are cached in the process by structure (the three slot capacities);
PyTensor's on-disk cache (``~/.pytensor``) serves the model's graph to later processes, and
nutpie's wrapper around it compiles in a few seconds because it carries only three data
arrays.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from toolkit.core.caches import CompiledCache
from toolkit.families import FAMILIES
from toolkit.inference.engines.pymc_densities import (
    FIELDS,
    link_loglik,
    log_prior,
    pytensor_ops,
    with_reliability,
)
from toolkit.inference.engines.pymc_layout import Layout
from toolkit.inference.sampling import check_stop, sample_nutpie

_CACHE = CompiledCache()


def build_model(layout: Layout) -> Any:
    """Build the PyMC model for ``layout``'s structure, with its data as initial values.

    Parameters
    ----------
    layout : Layout
        Slots, links and data arrays.

    Returns
    -------
    pymc.Model
        The model; a free variable ``z_<family name>`` per family with slots,
        data ``slots``, ``links`` and ``counts``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    ops = pytensor_ops()
    data = layout.data()
    with pm.Model() as model:
        slots = pm.Data("slots", data["slots"])
        links = pm.Data("links", data["links"])
        counts = pm.Data("counts", data["counts"])
        ends = pt.cumsum(counts)
        groups = layout.groups()
        row = 0
        for f in FAMILIES:
            capacity = layout.families[f].capacity
            if capacity == 0:
                continue
            block = slots[row: row + capacity]
            row += capacity
            z = pm.Flat(f"z_{f}", shape=capacity)
            u = block[:, 2] + block[:, 3] * z
            total = log_prior(ops, f, u, block[:, 0], block[:, 1]).sum()
            for g, (family, group) in enumerate(groups):
                if family != f:
                    continue
                rows = links[(ends[g - 1] if g else 0): ends[g]]
                c = {name: rows[:, column] for column, name in enumerate(FIELDS[f])}
                slot = pt.cast(c["slot"], "int64")
                total += with_reliability(ops, link_loglik(ops, f, group, u[slot], c), c).sum()
            pm.Potential(f"target_{f}", total)
    return model


def compiled_model(layout: Layout) -> tuple[Any, float]:
    """The nutpie-compiled model for ``layout``'s structure, compiling it on first use.

    Returns
    -------
    compiled : nutpie CompiledModel
        Compiled model (data still to be set with ``with_data``).
    seconds : float
        Seconds spent compiling now (0 when it came from the in-process cache).
    """
    import nutpie

    return _CACHE.get(layout.structure, lambda: nutpie.compile_pymc_model(build_model(layout)))


def clear_cache() -> None:
    """Forget the in-process compiled models (the benchmark's naive path uses this)."""
    _CACHE.clear()


def sample(
    layout: Layout, draws: int, tune: int, chains: int, cores: int, seed: int,
    **monitor: Any,
) -> tuple[dict[str, np.ndarray], np.ndarray, float, float]:
    """Sample every slot of ``layout`` with nutpie.

    ``monitor`` (``progress``, ``on_chains``, ``stop``, ``span``) goes to
    :func:`toolkit.inference.sampling.sample_nutpie`: per-chain progress and cancellation.

    Returns
    -------
    z : dict
        Draws of ``z`` per family, shape ``(chains, draws, capacity)``.
    diverging : ndarray of bool, shape (chains, draws)
        Divergent transitions.
    compile_seconds, sample_seconds : float
        Time spent compiling (0 if cached) and sampling.
    """
    compiled, compile_seconds = compiled_model(layout)
    check_stop(monitor.get("stop"))
    start = time.perf_counter()
    trace = sample_nutpie(compiled.with_data(**layout.data()), draws=draws, tune=tune,
                          chains=chains, cores=cores, seed=seed, **monitor)
    posterior = trace["posterior"]
    z = {f: np.asarray(posterior[f"z_{f}"].values, float)
         for f in FAMILIES if layout.families[f].capacity}
    diverging = np.asarray(trace["sample_stats"]["diverging"].values, bool)
    return z, diverging, compile_seconds, time.perf_counter() - start
