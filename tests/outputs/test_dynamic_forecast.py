"""The dynamic forecast's reading of its timeline (no sampling: a hand-made result)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from toolkit.outputs.dynamic_forecast import Band, DynamicForecast


def _forecast(horizon: dt.date) -> DynamicForecast:
    months = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]
    mean = np.array([[0.2, 0.8], [0.3, 0.7], [0.6, 0.4], [0.7, 0.3], [0.9, 0.1]])
    band = Band(mean, mean - 0.1, mean + 0.1)
    reach = Band(np.array([0.0, 0.1, 0.2, 0.3, 0.5]), np.zeros(5), np.full(5, 0.9))
    return DynamicForecast(
        case="c", title="t", question="q", horizon=horizon, as_of=dt.date(2025, 1, 20), seed=1,
        scenario_ids=["a", "b"], labels=["A", "B"], prior=np.array([0.5, 0.5]),
        months=months, as_of_row=0, filtered=band, smoothed=band, reach_by_month=reach,
        interval_level=0.9, target=0, static_probabilities=mean[-1], transition_prior=None,
        transition_mean=np.eye(2), duration_median=np.ones(2), items=[],
        items_by_row=[[] for _ in months], excluded={}, diagnostics={"converged": True})


def test_the_horizon_is_its_own_month_when_evidence_runs_past_it() -> None:
    early = _forecast(dt.date(2025, 3, 31))  # the timeline goes on to 2025-05
    assert early.horizon_row == 2
    np.testing.assert_allclose(early.probabilities, [0.6, 0.4])
    assert early.reach == (0.2, 0.0, 0.9)
    assert early.headline().startswith("In 2025-03 (horizon) A is ")
    last = _forecast(dt.date(2025, 5, 31))
    assert last.horizon_row == 4 and last.headline().startswith("In 2025-05 (horizon) A is ")
