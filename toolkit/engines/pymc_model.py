"""The PyMC model of the PyMC engine, compiled once per model structure with nutpie.

One model holds every slot (indicator x scenario x evidence prefix, see
:mod:`toolkit.engines.pymc_layout`) of every family. Each slot's parameter is written as
``u = center + scale * z`` with ``z`` flat: ``center`` and ``scale`` are data (a rough
location and width of that slot's posterior), so NUTS sees well-scaled, unimodal, independent
coordinates. The target is the exact prior of ``u`` times the tempered likelihood of the
slot's observations (``pm.Potential``: an item of reliability ``r`` contributes ``r`` times
its log-likelihood, the rule of :mod:`toolkit.reliability`).

Everything that changes between runs is ``pm.Data``: prior hyperparameters, centring,
observation values and bounds, exposures, reliabilities, dispersions and the slot of each
link. Link arrays are variable-length 1-D data, so a new evidence item, a retraction, a new
prior or a new reliability reruns through ``compiled.with_data(...)`` without recompiling.
Compiled models are cached in the process by structure (the three slot capacities);
PyTensor's on-disk cache (``~/.pytensor``) serves later processes.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from toolkit.engines.pymc_densities import link_loglik, log_prior, pytensor_ops
from toolkit.engines.pymc_layout import FAMILIES, Layout

_CACHE: dict[tuple[int, ...], Any] = {}
_LOCK = threading.Lock()


def build_model(layout: Layout) -> Any:
    """Build the PyMC model for ``layout``'s structure, with its data as initial values.

    Parameters
    ----------
    layout : Layout
        Slots, links and data arrays.

    Returns
    -------
    pymc.Model
        The model; free variables ``z_gp``, ``z_nl``, ``z_bb`` (families with slots only).
    """
    import pymc as pm

    ops = pytensor_ops()
    with pm.Model() as model:
        for f in FAMILIES:
            fam = layout.families[f]
            if fam.capacity == 0:
                continue
            d = {name: pm.Data(f"{f}_{name}", value) for name, value in fam.slot_data.items()}
            z = pm.Flat(f"z_{f}", shape=fam.capacity)
            u = d["center"] + d["scale"] * z
            total = log_prior(ops, f, u, d["p1"], d["p2"]).sum()
            for group, fields in fam.link_data.items():
                c = {k: pm.Data(f"{f}_{group}_{k}", v) for k, v in fields.items()}
                total += (c["r"] * link_loglik(ops, f, group, u[c["slot"]], c)).sum()
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

    key = layout.structure
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key], 0.0
        start = time.perf_counter()
        compiled = nutpie.compile_pymc_model(build_model(layout))
        _CACHE[key] = compiled
        return compiled, time.perf_counter() - start


def clear_cache() -> None:
    """Forget the in-process compiled models (the benchmark's naive path uses this)."""
    with _LOCK:
        _CACHE.clear()


def sample(
    layout: Layout, draws: int, tune: int, chains: int, cores: int, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray, float, float]:
    """Sample every slot of ``layout`` with nutpie.

    Returns
    -------
    z : dict
        Draws of ``z`` per family, shape ``(chains, draws, capacity)``.
    diverging : ndarray of bool, shape (chains, draws)
        Divergent transitions.
    compile_seconds, sample_seconds : float
        Time spent compiling (0 if cached) and sampling.
    """
    import nutpie

    compiled, compile_seconds = compiled_model(layout)
    start = time.perf_counter()
    known = {var.name for var in compiled.shared_var_keys}
    data = {k: v for k, v in layout.data().items() if k in known}
    trace = nutpie.sample(
        compiled.with_data(**data), draws=draws, tune=tune, chains=chains,
        cores=cores, seed=seed, progress_bar=False, save_warmup=False,
    )
    posterior = trace["posterior"]
    z = {f: np.asarray(posterior[f"z_{f}"].values, float)
         for f in FAMILIES if layout.families[f].capacity}
    diverging = np.asarray(trace["sample_stats"]["diverging"].values, bool)
    return z, diverging, compile_seconds, time.perf_counter() - start
