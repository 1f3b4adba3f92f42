"""Convergence diagnostics and the one convergence gate every sampler passes through.

The thresholds live in :mod:`toolkit.core.defaults` (r_hat <= 1.01, bulk and tail ESS >= 400,
no divergences; the PyMC engine adds the Pareto k and MCSE of its importance-sampled
marginal likelihoods). The PyMC engine reports ``r_hat_max``/``ess_bulk_min``/``ess_tail_min``
(:func:`engine_diagnostics`), the dynamic model ``max_r_hat``/``min_ess_bulk``/``min_ess_tail``
(:func:`chain_diagnostics`): their JSON keys are kept as they were so that saved runs and
history stay comparable across versions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit.core.defaults import ESS_MIN, KHAT_MAX, MCSE_MAX, R_HAT_MAX

if TYPE_CHECKING:
    from toolkit.inference.dynamic.model import Posterior


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
    rhat = np.asarray(array_stats.rhat(ary, chain_axis=-2, draw_axis=-1))
    bulk = np.asarray(array_stats.ess(ary, chain_axis=-2, draw_axis=-1, method="bulk"))
    tail = np.asarray(array_stats.ess(ary, chain_axis=-2, draw_axis=-1, method="tail",
                                       prob=(0.05, 0.95)))
    mcse = max(float(e.mcse.max()) for e in estimates.values())
    khat = max(float(e.khat.max()) for e in estimates.values())
    rhat_max = float(np.nanmax(rhat)) if ary.shape[1] > 1 else float("nan")
    n_div = int(diverging.sum())
    problems = []
    if not rhat_max <= R_HAT_MAX:
        problems.append(f"r_hat {rhat_max:.3f} > {R_HAT_MAX}")
    if float(bulk.min()) < ESS_MIN or float(tail.min()) < ESS_MIN:
        problems.append(f"ESS {min(bulk.min(), tail.min()):.0f} < {ESS_MIN}")
    if n_div:
        problems.append(f"{n_div} divergent transitions")
    if khat > KHAT_MAX:
        problems.append(f"importance-sampling khat {khat:.2f} > {KHAT_MAX}")
    if mcse > MCSE_MAX:
        problems.append(f"marginal-likelihood MCSE {mcse:.3f} > {MCSE_MAX}")
    return {
        "converged": not problems,
        "problems": problems,
        "r_hat_max": rhat_max,
        "ess_bulk_min": float(bulk.min()),
        "ess_tail_min": float(tail.min()),
        "divergences": n_div,
        "marginal_mcse_max": mcse,
        "marginal_khat_max": khat,
        "thresholds": {"r_hat_max": R_HAT_MAX, "ess_min": float(ESS_MIN), "divergences": 0,
                       "khat_max": KHAT_MAX, "marginal_mcse_max": MCSE_MAX},
    }


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
        ``converged`` (r_hat <= 1.01, bulk and tail ESS >= 400, no divergences),
        ``max_r_hat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences``, ``checked``.
    """
    import arviz as az

    series = {**posterior.monitored, **derived}
    varying = {name: values for name, values in series.items() if np.ptp(values) > 1e-12}
    result: dict[str, Any] = {"divergences": posterior.divergences,
                              "checked": sorted(varying), "method": method}
    if varying:
        safe = {f"v{i}": values for i, values in enumerate(varying.values())}
        table = az.summary(az.from_dict({"posterior": safe}), kind="diagnostics",
                           round_to="none")
        result.update(max_r_hat=float(table["r_hat"].max()),
                      min_ess_bulk=float(table["ess_bulk"].min()),
                      min_ess_tail=float(table["ess_tail"].min()))
    else:
        result.update(max_r_hat=1.0, min_ess_bulk=float("inf"), min_ess_tail=float("inf"))
    result["converged"] = bool(
        result["max_r_hat"] <= R_HAT_MAX and result["min_ess_bulk"] >= ESS_MIN
        and result["min_ess_tail"] >= ESS_MIN and posterior.divergences == 0)
    result["thresholds"] = {"max_r_hat": R_HAT_MAX, "min_ess": ESS_MIN, "divergences": 0}
    return result
