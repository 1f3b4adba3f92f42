"""The PyMC engine on the time-aware model: latent rate paths fitted by sequential Monte Carlo.

Where the evidence model needs more than one constant rate per indicator and scenario
(``wander``, ``walk`` or a ``path``; logged events and quiet time of watched indicators;
reports that may be false, the default reading of reliability), each indicator under each
scenario is a latent path (:mod:`toolkit.inference.smc.paths`: level, slope and a monthly
random walk, tens of dimensions with a walk) and its marginal likelihood, prefix by
prefix, comes from sequential Monte Carlo over the evidence
(:mod:`toolkit.inference.smc.sampler`), every item read by the families' likelihoods, the
functions the exact engine integrates, reliability and its reference included
(:mod:`toolkit.inference.reference`). The scenario is then summed out by Bayes' rule as
before. Several independent chains give the Monte Carlo error of each marginal; a slot
whose error exceeds :data:`MCSE_TARGET` gets more chains, and the convergence gate checks
the errors with r_hat and ESS of the final particles. Slots are independent given the
scenario, so each fit is kept (:data:`_FITS`) and a rerun refits only what changed; the
slots to fit run in worker processes.

Where the model is the same (no walk) the exact engine's answer is the truth the tests
compare with; with a walk the path is shared by the items (the exact engine reads it as
independent scatter), and the tests compare with brute-force simulation instead.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import zlib
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from typing import Any, NamedTuple

import numpy as np

from toolkit.core.caches import CompiledCache
from toolkit.core.mathutil import logsumexp
from toolkit.families.observation import Observation
from toolkit.inference.diagnostics import level_statistics, smc_diagnostics
from toolkit.inference.engines.base import (
    EngineResult,
    by_indicator,
    prefix_increments,
    split_closing,
)
from toolkit.inference.reference import with_references
from toolkit.inference.sampling import ChainsCallback, ChainState, StopFlag, check_stop
from toolkit.inference.smc.paths import PathDesign
from toolkit.inference.smc.sampler import SlotFit
from toolkit.inference.smc.workers import RunFlag, run_group, usable
from toolkit.inference.smc.workers import executor as workers_executor
from toolkit.inference.smc.workers import forget as forget_pool
from toolkit.model.case import Case

#: A slot whose marginal's Monte Carlo error exceeds this gets more chains, as many as the
#: error says it needs (up to :data:`MAX_CHAIN_FACTOR` times the chains asked for): measured on
#: 22 random time-aware cases, one pass of 4 chains x 2,000 particles left errors up to 0.05
#: and probability gaps to the exact engine up to 0.023; the gate's own limit is 0.05. More
#: chains keep the first pass's work (the pooled marginal stays unbiased) where a refit with
#: more particles would throw it away.
MCSE_TARGET = 0.02
MAX_CHAIN_FACTOR = 4
#: Slot fits by everything they depend on: a rerun after one change (an expectation, an
#: item, its grade) refits only the slots whose prior or evidence changed, and a slot's
#: random numbers depend only on the seed and its indicator and scenario, so a cached fit
#: equals a fresh one.
_FITS = CompiledCache(limit=4096)
METHOD = ("sequential Monte Carlo over the evidence on latent rate paths (level, slope, "
          "monthly random walk; tempered steps, random-walk Metropolis moves); marginal "
          "likelihoods pooled over independent chains")


class Slot(NamedTuple):
    """One indicator under one scenario: where its results go and what fits it."""

    indicator: str
    scenario: int
    indices: list[int]
    design: PathDesign
    key: tuple
    task: tuple  # run_group's leading arguments: family, params, design, items, seeds


def pool_fits(parts: list[SlotFit]) -> SlotFit:
    """One slot's fit from its groups of chains (each an independent :class:`SlotFit`)."""
    chain_cumulative = np.concatenate([p.chain_cumulative for p in parts])
    chains = chain_cumulative.shape[0]
    with np.errstate(divide="ignore"):
        pooled = logsumexp(chain_cumulative, axis=0) - math.log(chains) \
            if chain_cumulative.shape[1] else np.zeros(0)
    proposed = [(p.acceptance, p.rounds) for p in parts if np.isfinite(p.acceptance)]
    acceptance = float(np.average([a for a, _ in proposed], weights=[
        max(r, 1) for _, r in proposed])) if proposed else math.nan
    return SlotFit(np.asarray(pooled, float), chain_cumulative,
                   np.concatenate([p.levels for p in parts]), sum(p.distinct for p in parts),
                   sum(p.rounds for p in parts), acceptance)


def clear_cache() -> None:
    """Forget every slot's fit (the next run fits every indicator under every scenario)."""
    _FITS.clear()


def overdispersed(observations: list[Observation],
                  dispersion: dict[str, float]) -> list[Observation]:
    """Count totals of the indicators in ``dispersion`` read as negative binomials.

    A total's ``scatter`` is the log variance of a Gamma factor of mean 1 on its mean
    (:func:`~toolkit.families.poisson_tails.scatter_dispersion`): ``phi`` adds
    ``log(1 + phi)`` to it (independent factors multiply). Other observations are unchanged.
    """
    return [dataclasses.replace(o, scatter=o.scatter + math.log1p(dispersion[o.indicator]))
            if o.reading == "total" and dispersion.get(o.indicator, 0.0) > 0 else o
            for o in observations]


def needs_paths(case: Case, observations: list[Observation]) -> bool:
    """Whether the case needs the time-aware model (the NUTS model reads none of it)."""
    return any(o.reading != "total" or o.mixed for o in observations) or any(
        case.drift(i, k) for i in case.used_indicators for k in case.priors.scenario_ids)


def run_paths(case: Case, observations: list[Observation], seed: int, particles: int,
              chains: int, progress: Callable[[str, float], None] | None = None,
              stop: StopFlag | None = None,
              on_chains: ChainsCallback | None = None, workers: int = 1,
              dispersion: dict[str, float] | None = None) -> EngineResult:
    """Fit every indicator under every scenario; increments, totals and diagnostics.

    Parameters
    ----------
    case : Case
        The validated case.
    observations : list of Observation
        Items in report order, then quiet watched time.
    seed : int
        Seed of every random number (same seed, same numbers).
    particles, chains : int
        Particles per chain and independent chains per indicator and scenario.
    progress : callable, optional
        ``progress(message, fraction)`` after each fit of an indicator under a scenario.
    stop : StopFlag, optional
        Checked between items; once set the run raises
        :class:`~toolkit.inference.sampling.Cancelled`.
    on_chains : callable, optional
        Each chain's progress after each fit (the chains advance together: one vectorised
        cloud per chain), in items times scenarios fitted.
    workers : int
        Fits run at once in worker processes (:mod:`toolkit.inference.smc.workers`; 1: in
        this process, as in a Dask worker). Each fit's random numbers depend only on the
        seed, its indicator and scenario, so the numbers do not depend on ``workers``.
    dispersion : dict, optional
        Negative-binomial ``phi`` per count indicator: its totals vary around the path's
        rate with variance ``mean + phi mean^2`` (the NUTS model's reading; logged events
        stay a Poisson process given the path).

    Returns
    -------
    EngineResult
        As the exact engine's, with ``parameter_draws`` (the constant rates' draws, per
        indicator and scenario) in the extras.
    """
    start = time.perf_counter()
    workers = usable(workers)
    dispersion = dict(dispersion or {})
    observations = with_references(case, overdispersed(observations, dispersion))
    scenarios = case.priors.scenario_ids
    groups = by_indicator(observations)
    slots = []
    for indicator, indices in groups.items():
        family = case.indicators[indicator].family
        chosen = [observations[i] for i in indices]
        for k, scenario in enumerate(scenarios):
            params = case.prior_params(indicator, scenario)
            design = PathDesign.for_observations(case.drift(indicator, scenario), chosen)
            key = (indicator, scenario, family.name, tuple(params), design, tuple(chosen),
                   particles, chains, seed)
            seeds = [seed, zlib.crc32(indicator.encode()), zlib.crc32(scenario.encode())]
            slots.append(Slot(indicator, k, indices, design, key,
                              (family, params, design, chosen, seeds)))
    total = len(observations) * len(scenarios)
    done = [0, 0]  # fits, items times scenarios
    told: set[tuple[str, int]] = set()  # a retry on new workers reports no fit twice

    def finished(slot: Slot) -> None:
        if (slot.indicator, slot.scenario) in told:
            return
        told.add((slot.indicator, slot.scenario))
        done[0] += 1
        done[1] += len(slot.indices)
        if on_chains is not None:
            on_chains([ChainState(done[1], total, False, 0)] * chains)
        if progress is not None:
            progress(f"fitted {slot.indicator} under {scenarios[slot.scenario]} ({done[0]} of "
                     f"{len(slots)} fits)", 0.05 + 0.9 * done[0] / len(slots))

    fits = _fit_slots(slots, particles, chains, workers, finished, stop)
    cumulative = np.zeros((len(observations), len(scenarios)))
    statistics, mcse, draws = [], [], {}
    slot_mcse: dict[str, dict[str, float]] = {}
    rounds = refined = 0
    for (indicator, k, indices, design, *_), (fit, attempts, stats) in zip(
            slots, fits, strict=True):
        refined += attempts
        cumulative[indices, k] = fit.cumulative
        statistics.append(stats)
        mcse.append(fit.mcse)
        slot_mcse.setdefault(indicator, {})[scenarios[k]] = fit.mcse
        if design.drift is None:  # a moving rate's predictive needs more than its level
            family = case.indicators[indicator].family
            draws[(indicator, scenarios[k])] = family.natural_from_u(fit.levels.reshape(-1))
        rounds += fit.rounds
    increments, closing = split_closing(prefix_increments(cumulative, groups), observations)
    diagnostics: dict[str, Any] = smc_diagnostics(statistics, np.asarray(mcse))
    if dispersion:
        diagnostics["dispersion"] = dispersion
    diagnostics.update({
        "method": METHOD, "draws": particles, "chains": chains, "tune": 0,
        "particles_per_chain": particles, "resample_move_rounds": rounds,
        "slots_refined": refined, "workers": workers,
        "marginal_mcse": slot_mcse, "seconds": time.perf_counter() - start,
    })
    return EngineResult(increments, increments.sum(axis=0) + closing, diagnostics,
                        {"parameter_draws": draws, "dispersion": dispersion}, closing=closing)


def _fit_slots(slots: list[Slot], particles: int, chains: int, workers: int,
               finished: Callable[[Slot], None], stop: StopFlag | None) -> list[Any]:
    """:func:`_fit_slots_once`, once more on a new pool if a worker process died."""
    try:
        return _fit_slots_once(slots, particles, chains, workers, finished, stop)
    except BrokenExecutor:  # killed (out of memory?) or broken earlier: start new ones
        forget_pool(workers)
        return _fit_slots_once(slots, particles, chains, workers, finished, stop)


def _fit_slots_once(slots: list[Slot], particles: int, chains: int, workers: int,
                    finished: Callable[[Slot], None], stop: StopFlag | None) -> list[Any]:
    """Each slot's ``(fit, added groups, level statistics)``, from :data:`_FITS` or fitted.

    The slots' groups of ``chains`` chains run on ``workers`` processes
    (:mod:`toolkit.inference.smc.workers`); once all of a slot's groups are done they are
    pooled, and a slot whose marginal's error exceeds :data:`MCSE_TARGET` gets the groups
    its error says it needs (the error falls as one over the root of the chains), up to
    :data:`MAX_CHAIN_FACTOR` groups. Once ``stop`` is set (or a fit fails) the fits not yet
    started are cancelled, those running are told to stop, and the run raises.
    """
    out: list[Any] = [None] * len(slots)
    parts: dict[int, list[SlotFit | None]] = {}
    added = dict.fromkeys(range(len(slots)), 0)
    kept = [_FITS.find(slot.key) for slot in slots]  # (hit, value) per slot
    pool = workers_executor(workers) if not all(hit for hit, _ in kept) else None
    local = workers <= 1
    pending: dict[Future, tuple[int, int]] = {}
    with RunFlag() as flag:

        def submit(position: int, groups: int) -> None:
            have = parts.setdefault(position, [])
            for group in range(len(have), len(have) + groups):
                have.append(None)
                assert pool is not None
                future = pool.submit(run_group, *slots[position].task, particles, chains,
                                     group, None if local else flag.path,
                                     stop if local else None, None if local else os.getpid())
                pending[future] = (position, group)

        try:
            for position, (slot, (hit, value)) in enumerate(zip(slots, kept, strict=True)):
                if hit:
                    out[position] = value
                    finished(slot)
                else:
                    submit(position, 1)
            while pending:
                done, _ = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
                check_stop(stop)
                for future in done:
                    check_stop(stop)
                    position, group = pending.pop(future)
                    parts[position][group] = future.result()
                    if any(p is None for p in parts[position]):
                        continue
                    fit = pool_fits(parts[position])  # type: ignore[arg-type]
                    have = len(parts[position])
                    if fit.mcse > MCSE_TARGET and have < MAX_CHAIN_FACTOR:  # NaN (one chain): never
                        ratio = min(fit.mcse / MCSE_TARGET, float(MAX_CHAIN_FACTOR))  # inf: all
                        need = math.ceil(have * (ratio ** 2 - 1))
                        submit(position, min(max(need, 1), MAX_CHAIN_FACTOR - have))
                        added[position] += 1
                        continue
                    out[position] = (fit, added[position], level_statistics(fit.levels))
                    _FITS.put(slots[position].key, out[position])
                    finished(slots[position])
        except BaseException:
            flag.set()
            for future in pending:
                future.cancel()
            raise
        finally:
            if local and pool is not None:
                pool.shutdown(wait=False)
    return out
