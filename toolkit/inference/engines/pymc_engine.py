"""The PyMC engine: per-scenario conditional posteriors sampled with NUTS, marginals by IS.

The scenario is one discrete unknown shared by all evidence. Rather than sample the
marginalized mixture (whose posterior is multimodal; a chain stuck in a wrong scenario's
mode biases P(scenario) by 1/chains, see ``notes/pymc6-arviz1.md``), the engine samples,
in one compiled model, every indicator's parameter under every scenario *conditioned on
that scenario* and on all of the indicator's items (:mod:`.pymc_layout`,
:mod:`.pymc_model`). Each of these posteriors is unimodal and mixes well. The scenario-
marginalized model is then exact by Bayes' rule: ``P(k | evidence) = w_k m_k / sum_j w_j
m_j`` with ``m_k = prod_j m_kj``, each ``m_kj`` estimated by importance sampling with a
proposal fitted to its slot's draws (:mod:`.pymc_marginal`), and the marginalized model's
parameter posterior is the mixture of the conditional posteriors with those weights. The
trail's intermediate steps (earlier prefixes of each indicator's items) are importance-
sampled the same way, with proposals fitted to grid moments instead of draws.

Beyond the exact engine: counts may be overdispersed. ``dispersion={indicator: phi}``
makes that indicator's observations negative binomial with variance ``mean + phi mean^2``
(no closed form); ``phi -> 0`` recovers the Poisson and the exact engine's answer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from toolkit.core.errors import CaseError, Problem
from toolkit.families import FAMILIES
from toolkit.families.observation import Observation
from toolkit.inference.diagnostics import engine_diagnostics
from toolkit.inference.engines.base import EngineResult
from toolkit.inference.engines.pymc_layout import Layout, bracket_slots, build_layout
from toolkit.inference.engines.pymc_marginal import centre, estimate, natural
from toolkit.inference.engines.pymc_model import sample
from toolkit.inference.engines.pymc_paths import needs_paths, run_paths
from toolkit.inference.reference import needs_reference
from toolkit.inference.sampling import ChainsCallback, StopFlag, check_stop
from toolkit.model.case import Case

Progress = Callable[[str, float], None]
METHODS = ("auto", "nuts", "paths")
NUTS_DRAWS = 1000
NUTS_TUNE = 300
#: Particles per chain on the time-aware model: measured on the bundled case, 1,000 left
#: the largest marginal MCSE at 0.045-0.051 (the gate is 0.05), 2,000 at 0.033.
PARTICLES = 2000


class PymcEngine:
    """NUTS on per-scenario conditional posteriors; importance-sampled marginal likelihoods.

    Parameters
    ----------
    draws : int, optional
        NUTS draws per chain (default :data:`NUTS_DRAWS`), or on the time-aware model the
        particles per chain (default :data:`PARTICLES`).
    tune : int, optional
        NUTS tuning steps per chain (default :data:`NUTS_TUNE`; the time-aware model has
        none and refuses one given).
    chains : int
        Number of chains (independent particle clouds on the time-aware model).
    cores : int, optional
        Parallel chains (default: ``min(chains, CPUs)``).
    progress : callable, optional
        ``progress(message, fraction)`` called at each stage.
    dispersion : dict, optional
        Negative-binomial dispersion ``phi`` per count/occurrence indicator.
    is_points : int
        Fresh importance-sampling points per slot.
    min_capacity : dict, optional
        Lower bounds on the slot capacities (lets different cases share one compiled model).
    on_chains : callable, optional
        ``on_chains(states)`` while sampling: one
        :class:`~toolkit.inference.sampling.ChainState` per chain, several times a second.
    stop : threading.Event, optional
        Once set, the run stops at once with :class:`~toolkit.inference.sampling.Cancelled`.
    method : {"auto", "nuts", "paths"}
        ``nuts``: NUTS on per-scenario conditional posteriors (constant rates, totals,
        tempered reliability; overdispersion); ``paths``: latent rate paths by sequential
        Monte Carlo (:mod:`.pymc_paths`; ``draws`` are then particles per chain);
        ``auto``: ``paths`` where the case needs it, ``nuts`` otherwise.
    """

    name = "pymc"

    def __init__(
        self,
        draws: int | None = None,
        tune: int | None = None,
        chains: int = 4,
        cores: int | None = None,
        progress: Progress | None = None,
        dispersion: dict[str, float] | None = None,
        is_points: int = 4000,
        min_capacity: dict[str, int] | None = None,
        on_chains: ChainsCallback | None = None,
        stop: StopFlag | None = None,
        method: str = "auto",
    ) -> None:
        if (draws is not None and draws < 1) or chains < 1 or (tune is not None and tune < 0):
            raise ValueError("draws and chains must be >= 1 and tune >= 0")
        self.given_draws = draws
        self.draws = int(draws) if draws is not None else NUTS_DRAWS
        self.given_tune = tune
        self.tune, self.chains = int(tune) if tune is not None else NUTS_TUNE, int(chains)
        self.cores = int(cores or min(self.chains, os.cpu_count() or 1))
        self.progress = progress
        self.dispersion = {k: float(v) for k, v in (dispersion or {}).items()}
        if any(v < 0 for v in self.dispersion.values()):
            raise ValueError("dispersion must be >= 0")
        self.is_points = int(is_points)
        self.min_capacity = min_capacity
        self.on_chains, self.stop = on_chains, stop
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}")
        self.method = method

    def _say(self, message: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(message, fraction)

    def run(self, case: Case, observations: list[Observation], seed: int = 0) -> EngineResult:
        """Sample the conditional posteriors and estimate the marginal likelihoods.

        Parameters
        ----------
        case : Case
            The validated case.
        observations : list of Observation
            Items in report order.
        seed : int
            Seed of NUTS and of the importance sampling (same seed, same numbers).

        Returns
        -------
        EngineResult
            Increments, totals, diagnostics and extras (``parameter_draws``, ``posterior``).
        """
        start = time.perf_counter()
        check_stop(self.stop)
        unknown = sorted(set(self.dispersion) - {
            i for i, ind in case.indicators.items() if ind.family.overdispersion})
        if unknown:
            raise ValueError(f"dispersion given for non-count indicators: {', '.join(unknown)}")
        if self.method == "paths" or (self.method == "auto"
                                      and needs_paths(case, observations)):
            if self.given_tune is not None:
                raise CaseError([Problem(
                    "--tune", None, "--tune", "the time-aware model (latent rate paths, "
                    "sequential Monte Carlo) has no tuning steps, so it ignores --tune",
                    "drop --tune")])
            self._say("fitting latent rate paths by sequential Monte Carlo", 0.02)
            particles = self.given_draws if self.given_draws is not None else PARTICLES
            result = run_paths(case, observations, seed, particles, self.chains,
                               self.progress, self.stop, self.on_chains, workers=self.cores,
                               dispersion=self.dispersion)
            self._say("done", 1.0)
            return result
        unread = sorted({o.indicator for o in observations if o.reading != "total"})
        wandering = [i for i in case.used_indicators  # test doubles have only drift()
                     if any(case.drift(i, k) for k in case.priors.scenario_ids)]
        mixed = sorted({o.item_id for o in observations if needs_reference(o)})
        if unread or wandering or mixed:
            raise CaseError([Problem(
                case.paths.shown(case.paths.priors), None, "watch" if unread else
                "wander" if wandering else "reliability_reading",
                "the NUTS model reads constant rates, totals and tempered reliability only",
                "use the PyMC engine's default method (latent rate paths)")])
        self._say("laying out the model", 0.02)
        layout = build_layout(case, observations, self.dispersion, self.min_capacity)
        for f in FAMILIES:
            fam = layout.families[f]
            if fam.capacity:
                centre(fam, bracket_slots(fam, observations))
        self._say("compiling the model (skipped when this structure is cached)", 0.05)
        z, diverging, compile_s, sample_s = sample(
            layout, self.draws, self.tune, self.chains, self.cores, seed,
            progress=self.progress, on_chains=self.on_chains, stop=self.stop, span=(0.1, 0.85))
        check_stop(self.stop)
        self._say("estimating marginal likelihoods", 0.85)
        rng = np.random.default_rng([seed, 20261128])
        u_draws, estimates = {}, {}
        for f, zf in z.items():
            fam = layout.families[f]
            sampled, n = fam.sampled, len(fam.sampled)
            u = fam.slot_data["center"][sampled] + fam.slot_data["scale"][sampled] * zf[..., :n]
            u_draws[f] = u  # (chains, draws, n_sampled)
            flat = np.moveaxis(u, -1, 0).reshape(n, -1)
            loc, spread = fam.slot_data["center"].copy(), fam.slot_data["scale"].copy()
            loc[sampled], spread[sampled] = flat.mean(axis=1), flat.std(axis=1)
            estimates[f] = estimate(fam, loc, spread, self.is_points, rng)
        increments = _increments(layout, estimates)
        diagnostics = engine_diagnostics(
            z, [len(layout.families[f].sampled) for f in z], diverging, estimates)
        diagnostics.update({
            "method": "NUTS (nutpie) on per-scenario conditional posteriors; marginal "
                      "likelihoods by importance sampling from the draws",
            "draws": self.draws, "tune": self.tune, "chains": self.chains,
            "compile_seconds": compile_s, "sample_seconds": sample_s,
            "seconds": time.perf_counter() - start,
            "model_structure": list(layout.structure),
        })
        if self.dispersion:
            diagnostics["dispersion"] = dict(self.dispersion)
        extras = {
            "parameter_draws": _parameter_draws(layout, u_draws),
            "posterior": _posterior(layout, u_draws, diverging),
            "indicator_kinds": dict(layout.indicator_kinds),
            "noise_log_sd": {i: case.indicators[i].noise_log_sd for i in layout.indicator_kinds},
            "dispersion": dict(self.dispersion),
        }
        self._say("done", 1.0)
        return EngineResult(increments, increments.sum(axis=0), diagnostics, extras)


def _increments(layout: Layout, estimates: dict) -> np.ndarray:
    out = np.zeros((layout.n_items, len(layout.scenario_ids)))
    for f, est in estimates.items():
        previous: dict[tuple[str, int], float] = {}
        for s, slot in enumerate(layout.families[f].slots):
            if slot.prefix == 0:
                continue
            key = (slot.indicator, slot.scenario)
            before = previous.get(key, 0.0) if slot.prefix > 1 else 0.0
            out[slot.item_indices[-1], slot.scenario] = est.log_m[s] - before
            previous[key] = float(est.log_m[s])
    return out


def _final_slots(layout: Layout) -> dict[tuple[str, int], tuple[str, int]]:
    """For each (indicator, scenario), its family and position among the sampled slots."""
    out: dict[tuple[str, int], tuple[str, int]] = {}
    for f in FAMILIES:
        fam = layout.families[f]
        for j, s in enumerate(fam.sampled):
            out[(fam.slots[s].indicator, fam.slots[s].scenario)] = (f, j)
    return out


def _parameter_draws(layout: Layout, u_draws: dict) -> dict[tuple[str, str], np.ndarray]:
    out = {}
    for (indicator, k), (f, j) in _final_slots(layout).items():
        out[(indicator, layout.scenario_ids[k])] = natural(f, u_draws[f][..., j].reshape(-1))
    return out


def _posterior(layout: Layout, u_draws: dict, diverging: np.ndarray) -> Any:
    """An ArviZ DataTree: each indicator's natural parameter given each scenario."""
    import arviz as az

    finals = _final_slots(layout)
    posterior, coords, dims = {}, {"scenario": layout.scenario_ids}, {}
    for f in FAMILIES:
        names = [i for i in layout.indicator_kinds if finals.get((i, 0), ("",))[0] == f]
        if not names:
            continue
        var = FAMILIES[f].parameter_name
        dim = f"{var}_indicator"
        stack = np.stack([
            np.stack([u_draws[f][..., finals[(i, k)][1]] for k in range(len(coords["scenario"]))],
                     axis=-1)
            for i in names], axis=-2)  # (chain, draw, indicator, scenario)
        posterior[var] = natural(f, stack)
        coords[dim] = names
        dims[var] = [dim, "scenario"]
    return az.from_dict({"posterior": posterior, "sample_stats": {"diverging": diverging}},
                        coords=coords, dims=dims)
