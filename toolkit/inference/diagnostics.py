"""Convergence diagnostics and the one convergence gate every sampler passes through.

The thresholds live in :mod:`toolkit.core.defaults` (r_hat <= 1.01, bulk and tail ESS >= 400,
no divergences; the PyMC engine adds the Pareto k and MCSE of its importance-sampled
marginal likelihoods). :func:`gate` applies them and names the JSON keys both samplers
report: ``converged``, ``problems``, ``r_hat_max``, ``ess_bulk_min``, ``ess_tail_min``,
``divergences`` and ``thresholds``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit.core.defaults import ESS_MIN, KHAT_MAX, MCSE_MAX, R_HAT_MAX

if TYPE_CHECKING:
    from toolkit.inference.dynamic.model import Posterior


def gate(r_hat_max: float, ess_bulk_min: float, ess_tail_min: float,
         divergences: int) -> dict[str, Any]:
    """The convergence gate: r_hat, bulk and tail ESS and divergences against the thresholds.

    A statistic that is NaN (r_hat of a single chain) fails its check.

    Returns
    -------
    dict
        ``converged``, ``problems`` (one sentence per failed check), the four statistics
        and ``thresholds``: the JSON keys every sampler reports.
    """
    problems = []
    if not r_hat_max <= R_HAT_MAX:
        problems.append(f"r_hat {r_hat_max:.3f} > {R_HAT_MAX}")
    if not (ess_bulk_min >= ESS_MIN and ess_tail_min >= ESS_MIN):
        problems.append(f"ESS {min(ess_bulk_min, ess_tail_min):.0f} < {ESS_MIN}")
    if divergences:
        problems.append(f"{divergences} divergent transitions")
    return {
        "converged": not problems,
        "problems": problems,
        "r_hat_max": r_hat_max,
        "ess_bulk_min": ess_bulk_min,
        "ess_tail_min": ess_tail_min,
        "divergences": divergences,
        "thresholds": {"r_hat_max": R_HAT_MAX, "ess_min": ESS_MIN, "divergences": 0},
    }


def split_chain(ary: np.ndarray) -> np.ndarray:
    """One chain ``(..., 1, draws)`` as its two halves ``(..., 2, draws // 2)``.

    R-hat compares chains; a single chain still shows non-stationarity when its first and
    second halves disagree (the split-R-hat idea), so a one-chain run gets a real r_hat.
    """
    half = ary.shape[-1] // 2
    return ary[..., 0, : 2 * half].reshape(*ary.shape[:-2], 2, half)


def engine_diagnostics(z: dict[str, np.ndarray], used: list[int], diverging: np.ndarray,
                       estimates: dict[str, Any]) -> dict[str, Any]:
    """The PyMC engine's gate: r_hat, ESS, divergences, and the marginals' Pareto k and MCSE.

    Parameters
    ----------
    z : dict
        Draws per family, ``(chains, draws, capacity)``.
    used : list of int
        Sampled (non-padding) slots of each family, in ``z``'s order.
    diverging : ndarray of bool
        Divergent transitions.
    estimates : dict
        Per family, an object with ``mcse`` and ``khat`` arrays.

    Returns
    -------
    dict
        ``converged``, ``problems`` and the statistics, with the thresholds.
    """
    from arviz_stats.base import array_stats

    sampled = np.concatenate([zf[..., :n] for zf, n in zip(z.values(), used, strict=True)],
                             axis=-1)
    ary = np.moveaxis(sampled, -1, 0)  # (slots, chains, draws)
    halves = ary if ary.shape[1] > 1 else split_chain(ary)  # one chain: r_hat of its halves
    rhat = np.asarray(array_stats.rhat(halves, chain_axis=-2, draw_axis=-1))
    bulk = np.asarray(array_stats.ess(ary, chain_axis=-2, draw_axis=-1, method="bulk"))
    tail = np.asarray(array_stats.ess(ary, chain_axis=-2, draw_axis=-1, method="tail",
                                       prob=(0.05, 0.95)))
    mcse = max(float(e.mcse.max()) for e in estimates.values())
    khat = max(float(e.khat.max()) for e in estimates.values())
    rhat_max = float(np.nanmax(rhat))
    result = gate(rhat_max, float(bulk.min()), float(tail.min()), int(diverging.sum()))
    if khat > KHAT_MAX:
        result["problems"].append(f"importance-sampling khat {khat:.2f} > {KHAT_MAX}")
    if mcse > MCSE_MAX:
        result["problems"].append(f"marginal-likelihood MCSE {mcse:.3f} > {MCSE_MAX}")
    result.update(converged=not result["problems"], marginal_mcse_max=mcse,
                  marginal_khat_max=khat)
    result["thresholds"].update(khat_max=KHAT_MAX, marginal_mcse_max=MCSE_MAX)
    return result


def chain_diagnostics(posterior: Posterior, derived: dict[str, np.ndarray],
                      method: str) -> dict[str, Any]:
    """R-hat, bulk and tail ESS of every sampled scalar and derived output; divergences.

    Parameters
    ----------
    posterior : Posterior
        The sampled model.
    derived : dict
        Name -> ``(chains, draws)`` array of derived outputs to check as well (horizon and
        reach probabilities).
    method : str
        The model's description, recorded with the diagnostics.

    Returns
    -------
    dict
        The keys of :func:`gate`, plus ``checked`` (the series tested) and ``method``.
    """
    import arviz as az

    series = {**posterior.monitored, **derived}
    varying = {name: values for name, values in series.items() if np.ptp(values) > 1e-12}
    if varying:
        safe = {f"v{i}": values for i, values in enumerate(varying.values())}
        table = az.summary(az.from_dict({"posterior": safe}), kind="diagnostics",
                           round_to="none")
        stats = (float(table["r_hat"].max()), float(table["ess_bulk"].min()),
                 float(table["ess_tail"].min()))
    else:
        stats = (1.0, float("inf"), float("inf"))
    return {**gate(*stats, posterior.divergences), "checked": sorted(varying), "method": method}


def level_statistics(levels: np.ndarray) -> tuple[float, float, float]:
    """R-hat, bulk and tail ESS of one slot's final particles, shape ``(chains, particles)``.

    The particles are in resampling order, where neighbours often share an ancestor, so
    their ESS is a conservative one. A slot whose particles are all equal has nothing to
    check: ``(1, inf, inf)``.
    """
    from arviz_stats.base import array_stats

    if np.ptp(levels) <= 1e-12:
        return 1.0, math.inf, math.inf
    halves = levels if levels.shape[0] > 1 else split_chain(levels)
    return (float(array_stats.rhat(halves, chain_axis=-2, draw_axis=-1)),
            float(array_stats.ess(levels, chain_axis=-2, draw_axis=-1, method="bulk")),
            float(array_stats.ess(levels, chain_axis=-2, draw_axis=-1, method="tail",
                                  prob=(0.05, 0.95))))


def smc_diagnostics(statistics: Sequence[tuple[float, float, float]],
                    mcse: np.ndarray) -> dict[str, Any]:
    """The time-aware sampler's gate: r_hat and ESS of the levels, the marginals' MCSE.

    Parameters
    ----------
    statistics : sequence of (float, float, float)
        :func:`level_statistics` of every slot.
    mcse : ndarray, shape (slots,)
        Monte Carlo standard error of each slot's log marginal likelihood (between chains).

    Returns
    -------
    dict
        The keys of :func:`gate` plus ``marginal_mcse_max``.
    """
    rhat = [1.0, *(r for r, _, _ in statistics)]
    result = gate(float(np.nanmax(rhat)) if not np.isnan(rhat).all() else math.nan,
                  min([math.inf, *(b for _, b, _ in statistics)]),
                  min([math.inf, *(t for _, _, t in statistics)]), 0)
    worst = float(np.max(mcse)) if mcse.size else 0.0
    if not worst <= MCSE_MAX:  # NaN (one chain) fails: its error is unknown
        result["problems"].append(f"marginal-likelihood MCSE {worst:.3f} > {MCSE_MAX}"
                                  if np.isfinite(worst) else
                                  "marginal-likelihood MCSE unknown (one chain)")
    result.update(converged=not result["problems"], marginal_mcse_max=worst)
    result["thresholds"].update(marginal_mcse_max=MCSE_MAX)
    return result
