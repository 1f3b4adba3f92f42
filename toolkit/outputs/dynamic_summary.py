"""The JSON form of a dynamic forecast, and what its method and intervals mean."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit import __version__
from toolkit.outputs.language import estimative_word

if TYPE_CHECKING:
    from toolkit.outputs.dynamic_forecast import DynamicForecast

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
