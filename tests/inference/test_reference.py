"""Reliability as the chance a report is genuine: a grade bounds what one report can do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from toolkit.model.case import load_case
from toolkit.model.reliability import parse_reliability
from toolkit.outputs.forecast import run_forecast

HEADER = "id,reported_on,period_start,period_end,indicator,value,unit,source,reliability,status"


@pytest.mark.parametrize("grade", ["E5", "D4", "C3", "B2"])
def test_one_huge_report_moves_the_odds_at_most_as_its_grade_allows(case_root: Path,
                                                                     grade: str) -> None:
    """24,000 drones in a month (the issue's example): bounded by 1 + K r / (1 - r)."""
    (case_root / "evidence" / "russia-iran.csv").write_text(
        f"{HEADER}\nX1,2024-02-01,2024-01-01,2024-01-31,drone_supply,24000,drones,G02,"
        f"{grade},active\n", encoding="utf-8")
    case = load_case(case_root, "russia-iran")
    forecast = run_forecast(case, as_of=case.priors.horizon)
    r = parse_reliability(grade)
    bound = 1 + 3 * r / (1 - r)
    prior = np.asarray(case.priors.weights)
    odds = (forecast.probabilities / prior) / (forecast.probabilities / prior)[:, None]
    assert odds.max() <= bound * (1 + 1e-6)  # attained: only one scenario allows 24,000
    assert odds.max() > 1.0  # it still says something
    tempered = load_case(case_root, "russia-iran", priors_text=(
        case.paths.priors.read_text(encoding="utf-8") + "\nreliability_reading: tempered\n"))
    assert run_forecast(tempered, as_of=case.priors.horizon).probabilities.max() > 0.98
