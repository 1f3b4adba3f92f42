"""Convergence diagnostics and the JSON form of a dynamic forecast."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit import __version__
from toolkit.inference.dynamic.model import Posterior
from toolkit.outputs.language import estimative_word

if TYPE_CHECKING:
    from toolkit.outputs.dynamic_forecast import DynamicForecast

#: Convergence gate (the same as the static PyMC engine's).
MAX_R_HAT = 1.01
MIN_ESS = 400

METHOD = (
    "monthly hidden Markov chain over the scenarios; transition matrix and initial "
    "distribution sampled with nutpie, regimes summed out by a forward algorithm in PyTensor; "
    "indicator parameters integrated out per regime (exact engine's sequential predictive, "
    "items in period order), each item spread over the months it covers by its share of days"
)
INTERVAL_MEANING = (
    "central credible interval over posterior draws of the transition matrix and the "
    "initial distribution; the point value is the posterior mean"
)
REACH_MEANING = (
    "probability that the target regime holds in at least one month from the as-of month "
    "to the horizon month, given the evidence"
)


def diagnose(posterior: Posterior, derived: dict[str, np.ndarray]) -> dict[str, Any]:
    """R-hat, bulk and tail ESS of every sampled scalar and derived output; divergences.

    Parameters
    ----------
    posterior : Posterior
        The sampled model.
    derived : dict
        Name -> ``(chains, draws)`` array of derived outputs to check as well (horizon and
        reach probabilities).

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
                              "checked": sorted(varying), "method": METHOD}
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
        result["max_r_hat"] <= MAX_R_HAT and result["min_ess_bulk"] >= MIN_ESS
        and result["min_ess_tail"] >= MIN_ESS and posterior.divergences == 0)
    result["thresholds"] = {"max_r_hat": MAX_R_HAT, "min_ess": MIN_ESS, "divergences": 0}
    return result


def _by_id(ids: list[str], values: np.ndarray) -> dict[str, float]:
    return {sid: float(v) for sid, v in zip(ids, values, strict=True)}


def _intervals(ids: list[str], low: np.ndarray, high: np.ndarray) -> dict[str, list[float]]:
    return {sid: [float(lo), float(hi)] for sid, lo, hi in zip(ids, low, high, strict=True)}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def to_dict(forecast: DynamicForecast) -> dict[str, Any]:
    """The JSON-ready form of a dynamic forecast (``scenarios forecast --model dynamic``)."""
    f = forecast
    ids = f.scenario_ids
    row = f.as_of_row
    p_reach, r_lo, r_hi = f.reach
    timeline = [
        {
            "month": f.months[m],
            "filtered": _by_id(ids, f.filtered.mean[m]),
            "filtered_interval": _intervals(ids, f.filtered.low[m], f.filtered.high[m]),
            "smoothed": _by_id(ids, f.smoothed.mean[m]),
            "smoothed_interval": _intervals(ids, f.smoothed.low[m], f.smoothed.high[m]),
            "evidence": f.items_by_row[m],
        }
        for m in range(row + 1)
    ]
    projection = [
        {
            "month": f.months[m],
            "probabilities": _by_id(ids, f.smoothed.mean[m]),
            "intervals": _intervals(ids, f.smoothed.low[m], f.smoothed.high[m]),
            "target_reached": float(f.reach_by_month.mean[m - row]),
            "target_reached_interval": [float(f.reach_by_month.low[m - row]),
                                        float(f.reach_by_month.high[m - row])],
        }
        for m in range(row + 1, len(f.months))
    ]
    horizon_row = f.horizon_row
    return _clean({
        "case": f.case,
        "title": f.title,
        "question": f.question,
        "model": f.model,
        "engine": f.engine,
        "horizon": f.horizon.isoformat(),
        "as_of": f.as_of.isoformat(),
        "seed": f.seed,
        "converged": f.converged,
        "headline": f.headline(),
        "scenarios": [
            {
                "id": sid,
                "label": label,
                "prior": float(f.prior[k]),
                "probability": float(f.probabilities[k]),
                "interval": [float(v) for v in f.intervals[k]],
                "estimate": estimative_word(float(f.probabilities[k])),
                "now": float(f.current[k]),
                "static": float(f.static_probabilities[k]),
            }
            for k, (sid, label) in enumerate(zip(ids, f.labels, strict=True))
        ],
        "interval": {"level": f.interval_level, "meaning": INTERVAL_MEANING},
        "timeline": timeline,
        "projection": projection,
        "horizon_forecast": {
            "date": f.horizon.isoformat(),
            "month": f.months[horizon_row],
            "months_ahead": horizon_row - row,
            "probabilities": _by_id(ids, f.smoothed.mean[horizon_row]),
            "intervals": _intervals(ids, f.smoothed.low[horizon_row],
                                    f.smoothed.high[horizon_row]),
            "reach": {
                "target": ids[f.target],
                "label": f.labels[f.target],
                "from_month": f.months[row],
                "probability": p_reach,
                "interval": [r_lo, r_hi],
                "meaning": REACH_MEANING,
            },
        },
        "transitions": {
            "prior": f.transition_prior.describe(),
            "posterior_mean": {a: _by_id(ids, f.transition_mean[i]) for i, a in enumerate(ids)},
            "typical_duration_months_median": _by_id(ids, f.duration_median),
        },
        "evidence_used": [item.id for item in f.items],
        "evidence_excluded": f.excluded,
        "diagnostics": f.diagnostics,
        "inputs": f.input_hashes,
        "toolkit_version": __version__,
    })
