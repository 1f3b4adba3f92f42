"""The dynamic model in PyMC: a monthly hidden Markov chain over the scenarios (regimes).

Random variables (everything else is data):

* ``initial`` - the regime distribution in the first month of evidence,
  ``Dirichlet(weight_concentration x scenario weights)``: its mean is the scenario prior, and
  it carries the same weight uncertainty the static model's intervals express;
* ``p_from_<k>`` - row ``k`` of the monthly transition matrix over its possible entries,
  ``Dirichlet(concentration x expected row)`` (:mod:`toolkit.model.dynamics`).

The hidden regime of every month is summed out by the forward algorithm in PyTensor
(:func:`toolkit.inference.dynamic.forward.forward_loglik`), added as a ``pm.Potential``; the
indicator
parameters are integrated out before sampling (:mod:`toolkit.inference.dynamic.emissions` says how
and why). What remains is a small, unimodal posterior that nutpie samples reliably.

Emissions, and the Dirichlet parameters and initial weights packed in one array, are
``pm.Data`` (nutpie's wrapper compiles about a second per data array): a model is compiled
once per *structure* (number of regimes, which transitions are possible, which
regimes have positive weight) and kept in a process-wide cache, so a rerun after an
evidence or prior change only resamples (``CompiledModel.with_data``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from toolkit.core.caches import CompiledCache
from toolkit.inference.sampling import check_stop, sample_nutpie
from toolkit.model.dynamics import TransitionPrior

_CACHE = CompiledCache()


@dataclass(frozen=True)
class Structure:
    """What fixes the compiled graph: regimes kept, live initial regimes, possible moves.

    Parameters
    ----------
    states : tuple of int
        Regimes the chain can reach (indices into the scenarios).
    live : tuple of int
        Regimes with positive initial weight (a subset of ``states``).
    allowed : tuple of tuple of int
        For each state in ``states``: the scenario indices it may move to (itself included).
    """

    states: tuple[int, ...]
    live: tuple[int, ...]
    allowed: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, prior: TransitionPrior, weights: np.ndarray) -> Structure:
        """The structure implied by a transition prior and initial weights."""
        reach = prior.reachable(weights)
        states = tuple(int(k) for k in np.flatnonzero(reach))
        live = tuple(int(k) for k in np.flatnonzero(np.asarray(weights) > 0))
        allowed = tuple(tuple(int(j) for j in np.flatnonzero(prior.allowed[k])) for k in states)
        return cls(states, live, allowed)


@dataclass
class Posterior:
    """Posterior draws of the dynamic model, in full scenario coordinates.

    Parameters
    ----------
    initial : ndarray, shape (chains, draws, K)
        Initial regime distribution per draw (zeros for unreachable regimes).
    transition : ndarray, shape (chains, draws, K, K)
        Monthly transition matrix per draw.
    tree : DataTree
        nutpie's output (posterior and sample stats).
    monitored : dict
        Name -> ``(chains, draws)`` array of every free scalar (for diagnostics).
    divergences : int
        Divergent transitions after tuning.
    timing : dict
        ``compile_seconds`` (0 when cached) and ``sample_seconds``.
    """

    initial: np.ndarray
    transition: np.ndarray
    tree: Any
    monitored: dict[str, np.ndarray]
    divergences: int
    timing: dict[str, float] = field(default_factory=dict)


def build_model(structure: Structure, prior: TransitionPrior, weights: np.ndarray,
                weight_concentration: float, emissions: np.ndarray) -> Any:
    """Build the PyMC model for ``structure`` with initial data values.

    Parameters
    ----------
    structure : Structure
        Regimes kept and possible moves.
    prior : TransitionPrior
        Dirichlet row priors.
    weights : ndarray, shape (K,)
        Scenario prior weights (sum to 1).
    weight_concentration : float
        Dirichlet concentration of the initial distribution.
    emissions : ndarray, shape (T, K)
        Log emissions per month and regime.

    Returns
    -------
    pymc.Model
        The model (``pm.Potential("evidence", ...)`` holds the forward algorithm).
    """
    import pymc as pm
    import pytensor.tensor as pt

    from toolkit.inference.dynamic.forward import forward_loglik

    states = list(structure.states)
    position = {k: s for s, k in enumerate(states)}
    size = len(states)
    data = model_data(structure, prior, weights, weight_concentration, emissions)
    with pm.Model() as model:
        log_e = pm.Data("emissions", data["emissions"])
        # one array for every Dirichlet parameter: nutpie's wrapper compiles per array
        alphas = pm.Data("alphas", data["alphas"]) if data["alphas"].size else None
        offset = 0

        def next_alpha(length: int) -> Any:
            nonlocal offset
            offset += length
            return alphas[offset - length: offset]  # type: ignore[index]

        live = [position[k] for k in structure.live]
        if len(live) >= 2:
            initial = pm.Dirichlet("initial", a=next_alpha(len(live)), shape=len(live))
            log_init = pt.set_subtensor(pt.full((size,), -np.inf)[live], pt.log(initial))
        else:
            log_init = pt.as_tensor(np.where(np.arange(size) == live[0], 0.0, -np.inf))
        rows = []
        for k, moves in zip(states, structure.allowed, strict=True):
            targets = [position[j] for j in moves]
            if len(targets) >= 2:
                p = pm.Dirichlet(f"p_from_{k}", a=next_alpha(len(targets)), shape=len(targets))
                rows.append(pt.set_subtensor(pt.full((size,), -np.inf)[targets], pt.log(p)))
            else:
                rows.append(pt.as_tensor(np.where(np.arange(size) == position[k], 0.0, -np.inf)))
        pm.Potential("evidence", forward_loglik(log_init, pt.stack(rows), log_e))
    return model


def model_data(structure: Structure, prior: TransitionPrior, weights: np.ndarray,
               weight_concentration: float, emissions: np.ndarray) -> dict[str, np.ndarray]:
    """The ``pm.Data`` values for one run (names as in :func:`build_model`).

    ``alphas`` holds the Dirichlet parameters of the initial distribution (when two or more
    regimes are possible at the start) and then of each regime's row with two or more
    allowed moves, in regime order; their lengths are fixed by the structure.
    """
    states = list(structure.states)
    parts = []
    if len(structure.live) >= 2:
        parts.append(weight_concentration * np.asarray(weights)[list(structure.live)])
    for k, moves in zip(states, structure.allowed, strict=True):
        if len(moves) >= 2:
            parts.append(prior.alpha[k, list(moves)])
    return {"emissions": np.asarray(emissions, float)[:, states],
            "alphas": np.concatenate(parts) if parts else np.zeros(0)}


def compiled_model(structure: Structure, prior: TransitionPrior, weights: np.ndarray,
                   weight_concentration: float, emissions: np.ndarray) -> tuple[Any, float]:
    """The nutpie-compiled model for ``structure`` (cached) and the seconds spent compiling."""
    import nutpie

    return _CACHE.get((len(prior.scenario_ids), structure), lambda: nutpie.compile_pymc_model(
        build_model(structure, prior, weights, weight_concentration, emissions)))


def sample(
    prior: TransitionPrior,
    weights: np.ndarray,
    weight_concentration: float,
    emissions: np.ndarray,
    seed: int,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    **monitor: Any,
) -> Posterior:
    """Sample the dynamic model with nutpie.

    ``monitor`` (``progress``, ``on_chains``, ``stop``, ``span``) goes to
    :func:`toolkit.inference.sampling.sample_nutpie`: per-chain progress and cancellation.

    Parameters
    ----------
    prior : TransitionPrior
        Dirichlet row priors.
    weights : ndarray, shape (K,)
        Scenario prior weights (sum to 1).
    weight_concentration : float
        Dirichlet concentration of the initial distribution.
    emissions : ndarray, shape (T, K), T >= 1
        Log emissions per month and regime, up to the last month with evidence.
    seed : int
        Sampler seed.
    draws, tune, chains : int
        Draws kept and tuning steps per chain; number of chains.
    cores : int, optional
        Parallel chains (default: ``min(chains, CPU count)``).

    Returns
    -------
    Posterior
        Draws in full scenario coordinates.
    """
    weights = np.asarray(weights, float)
    structure = Structure.of(prior, weights)
    compiled, compile_seconds = compiled_model(structure, prior, weights, weight_concentration,
                                               emissions)
    data = model_data(structure, prior, weights, weight_concentration, emissions)
    if not data["alphas"].size:  # no Dirichlet at all: the model has no such data
        del data["alphas"]
    cores = cores or min(chains, os.cpu_count() or 1)
    check_stop(monitor.get("stop"))
    start = time.perf_counter()
    tree = sample_nutpie(compiled.with_data(**data), draws=draws, tune=tune, chains=chains,
                         cores=cores, seed=seed, **monitor)
    sample_seconds = time.perf_counter() - start
    return _collect(tree, structure, len(prior.scenario_ids), chains, draws,
                    {"compile_seconds": compile_seconds, "sample_seconds": sample_seconds})


def _collect(tree: Any, structure: Structure, size: int, chains: int, draws: int,
             timing: dict[str, float]) -> Posterior:
    posterior = tree["posterior"]
    initial = np.zeros((chains, draws, size))
    monitored: dict[str, np.ndarray] = {}
    if len(structure.live) >= 2:
        values = np.asarray(posterior["initial"].values)
        initial[..., list(structure.live)] = values
        for j, k in enumerate(structure.live):
            monitored[f"initial[{k}]"] = values[..., j]
    else:
        initial[..., structure.live[0]] = 1.0
    transition = np.zeros((chains, draws, size, size))
    for k, moves in zip(structure.states, structure.allowed, strict=True):
        if len(moves) >= 2:
            values = np.asarray(posterior[f"p_from_{k}"].values)
            transition[..., k, list(moves)] = values
            for j, dest in enumerate(moves):
                monitored[f"transition[{k},{dest}]"] = values[..., j]
        else:
            transition[..., k, k] = 1.0
    for k in set(range(size)) - set(structure.states):
        transition[..., k, k] = 1.0
    divergences = int(np.asarray(tree["sample_stats"]["diverging"].values).sum())
    return Posterior(initial, transition, tree, monitored, divergences, timing)


def clear_cache() -> None:
    """Forget every compiled model (the next run compiles again)."""
    _CACHE.clear()
