"""Reliability as the chance a report is genuine: a grade bounds what one report can do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from toolkit.inference.reference import BROAD
from toolkit.model.case import load_case
from toolkit.model.reliability import parse_reliability
from toolkit.outputs.forecast import run_forecast

HEADER = "id,reported_on,period_start,period_end,indicator,value,unit,source,reliability,status"


@pytest.mark.parametrize("grade", ["E5", "D4", "C3", "B2"])
def test_one_huge_report_moves_the_odds_at_most_as_its_grade_allows(case_root: Path,
                                                                     grade: str) -> None:
    """24,000 drones in a month (the issue's example): at most 1 + K r / ((1 - r)(1 - BROAD))."""
    _check_bound(case_root, grade, "")


@pytest.mark.parametrize("grade", ["E5", "D4", "C3"])
@pytest.mark.parametrize("drift", ["wander: 2", "walk: 1.5", "wander: 2\nwalk: 1.5"])
def test_the_bound_holds_when_rates_wander_or_walk(case_root: Path, grade: str,
                                                   drift: str) -> None:
    """The reference reads the item under the same drift as its genuine likelihood.

    Before, it was the constant-rate predictive: under ``wander: 2`` a fabricated E5 report
    of 24,000 drones in 2026 moved the odds by a factor of about e**70, not at most 1.2.
    """
    _check_bound(case_root, grade, drift)


def _check_bound(case_root: Path, grade: str, drift: str) -> None:
    (case_root / "evidence" / "russia-iran.csv").write_text(
        f"{HEADER}\nX1,2026-02-01,2026-01-01,2026-01-31,drone_supply,24000,drones,G02,"
        f"{grade},active\n", encoding="utf-8")
    text = (case_root / "priors" / "russia-iran.yaml").read_text(encoding="utf-8")
    case = load_case(case_root, "russia-iran", priors_text=text + f"\n{drift}\n")
    forecast = run_forecast(case, as_of=case.priors.horizon)
    r = parse_reliability(grade)
    bound = 1 + 3 * r / ((1 - r) * (1 - BROAD))
    prior = np.asarray(case.priors.weights)
    odds = (forecast.probabilities / prior) / (forecast.probabilities / prior)[:, None]
    assert odds.max() <= bound * (1 + 1e-6)  # attained: only one scenario allows 24,000
    assert odds.max() > 1.0  # it still says something
    if drift:
        return
    tempered = load_case(case_root, "russia-iran", priors_text=(
        case.paths.priors.read_text(encoding="utf-8") + "\nreliability_reading: tempered\n"))
    assert run_forecast(tempered, as_of=case.priors.horizon).probabilities.max() > 0.98


def test_two_fabricated_totals_that_agree_do_not_confirm_each_other(case_root: Path) -> None:
    """Two poorly graded totals of one indicator, both hundreds of times the genuine rate.

    With the scenarios' average predictive alone as the reference, each made the other look
    genuine: the pair moved the odds by 250,000 (a simulated world put 99% on a wrong
    scenario this way). With the broad component the pair moves the odds no further than
    the two grades allow one after the other.
    """
    genuine = ["X0,2023-01-03,2022-09-16,2022-12-15,drone_supply,600-1000,drones,G02,B2,active",
               "X3,2026-04-15,2025-11-16,2026-03-27,drone_supply,>=900,drones,G02,B1,active"]
    fabricated = [
        "X1,2024-03-01,2023-01-01,2023-12-31,drone_supply,600000,drones,G02,E4,active",
        "X2,2024-08-01,2023-07-01,2024-06-30,drone_supply,500000,drones,G02,C5,active"]
    text = (case_root / "priors" / "russia-iran.yaml").read_text(encoding="utf-8")
    odds = []
    for rows in (genuine, genuine + fabricated):
        (case_root / "evidence" / "russia-iran.csv").write_text(
            HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
        case = load_case(case_root, "russia-iran",
                         priors_text=text + "\nwander: 2\nwalk: 1.256\n")
        p = run_forecast(case, as_of=case.priors.horizon).probabilities
        odds.append(p / p[:, None])
    bound = np.prod([1 + 3 * r / ((1 - r) * (1 - BROAD))
                     for r in (parse_reliability("E4"), parse_reliability("C5"))])
    moved = odds[1] / odds[0]
    assert moved.max() <= bound
    assert moved.max() > 1.0  # they still say something
