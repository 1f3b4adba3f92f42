"""Trajectories: paths of expectations over time, their offsets and their priors."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from toolkit.core.errors import CaseError
from toolkit.model.case import load_case
from toolkit.model.priors import Expectation
from toolkit.model.trajectory import (
    Z90,
    Drift,
    drift_for,
    months_since_epoch,
    path_interval,
    reference_month,
)

REPO = Path(__file__).resolve().parents[2]
PATH_DRIFT = Drift(300.0, 0.3, ((280.0, 0.5), (320.0, -1.0)))


@pytest.mark.parametrize(("start", "end"), [(270, 290), (285, 330), (250, 260), (325, 340)])
@pytest.mark.parametrize("slope", [-0.5, 0.0, 0.7])
def test_path_offsets_equal_the_numerical_mean_of_the_rate(start: float, end: float,
                                                           slope: float) -> None:
    t = np.linspace(start, end, 200_001)
    shape = np.interp(t, [280, 320], [0.5, -1.0])
    numeric = math.log(np.trapezoid(np.exp(shape + slope / 12 * (t - 300)), t) / (end - start))
    assert float(PATH_DRIFT.offsets(np.array([slope]), start, end)[0]) == pytest.approx(
        numeric, abs=1e-9)
    # an event's own time: the path's value there
    assert float(PATH_DRIFT.offsets(np.array([slope]), start, start, False)[0]) == \
        pytest.approx(float(np.interp(start, [280, 320], [0.5, -1.0]))
                      + slope / 12 * (start - 300), abs=1e-12)


def _path_expectation(points: list[dict]) -> Expectation:
    return Expectation.model_validate({"path": points, "per": "month", "rationale": "r"})


def test_a_path_is_interpolated_in_log_and_held_beyond_its_ends() -> None:
    exp = _path_expectation([{"at": 2023, "low": 20, "high": 700},
                             {"at": "2026-07-01", "low": 5, "high": 200}])
    first, last = months_since_epoch(dt.date(2023, 7, 1)), months_since_epoch(dt.date(2026, 7, 1))
    assert path_interval(exp.path, first - 50) == pytest.approx((20, 700))
    assert path_interval(exp.path, last + 50) == pytest.approx((5, 200))
    middle = path_interval(exp.path, (first + last) / 2)
    assert middle == pytest.approx((math.sqrt(20 * 5), math.sqrt(700 * 200)))


@pytest.mark.parametrize(("fields", "message"), [
    ({"path": [{"at": 2026, "low": 1, "high": 2}, {"at": 2023, "low": 1, "high": 2}]},
     "dates must increase"),
    ({"path": [{"at": 2023, "low": 3, "high": 2}, {"at": 2026, "low": 1, "high": 2}]},
     "must be below high"),
    ({"path": [{"at": 2023, "low": 1, "high": 2}]}, "at least 2"),
    ({"path": [{"at": 2023, "low": 1, "high": 2}, {"at": 2026, "low": 1, "high": 2}],
      "low": 1, "high": 2}, "only one of them"),
])
def test_bad_paths_are_refused(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Expectation.model_validate({**fields, "rationale": "r"})


def _with_path(text: str, indicator: str, scenario: str, path: str) -> str:
    lines = text.splitlines()
    key = f"    {scenario}:"
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {indicator}:"))
    row = next(i for i in range(start, len(lines)) if lines[i].startswith(key))
    lines[row] = f"{key} {{path: {path}, per: month, rationale: \"a path\"}}"
    return "\n".join(lines) + "\n"


def test_a_case_reads_a_path_as_its_interval_at_the_reference_time() -> None:
    text = (REPO / "priors" / "russia-iran.yaml").read_text(encoding="utf-8")
    path = "[{at: 2023, low: 20, high: 700}, {at: 2026, low: 5, high: 200}]"
    case = load_case(REPO, "russia-iran",
                     priors_text=_with_path(text, "drone_supply", "transactional", path))
    drift = case.drift("drone_supply", "transactional")
    assert drift is not None and not drift.wanders
    t0 = reference_month(case.priors.start, case.priors.horizon)
    low, high = path_interval(case.priors.expectations["drone_supply"]["transactional"].path,
                              t0)
    plain = load_case(REPO, "russia-iran", priors_text=text.replace(
        "transactional:       {low: 20,  high: 700,",
        f"transactional:       {{low: {low!r},  high: {high!r},"))
    assert case.prior_params("drone_supply", "transactional") == pytest.approx(
        plain.prior_params("drone_supply", "transactional"))
    assert case.drift("drone_supply", "drift") is None  # other expectations stay constant


def test_a_path_on_a_share_is_refused_with_its_place() -> None:
    text = (REPO / "priors" / "russia-iran.yaml").read_text(encoding="utf-8")
    path = "[{at: 2023, low: 0.2, high: 0.4}, {at: 2026, low: 0.3, high: 0.6}]"
    with pytest.raises(CaseError) as caught:
        load_case(REPO, "russia-iran",
                  priors_text=_with_path(text, "diplomatic_alignment", "transactional", path))
    problem = caught.value.problems[0]
    assert "takes no path" in problem.message
    assert "diplomatic_alignment" in str(problem.field)


@pytest.mark.parametrize(("start", "end"), [(5.0, 17.0), (-30.0, -2.0), (-4.0, 9.0),
                                            (-8.0, 0.0), (3.0, 3.0)])
def test_walk_scatter_is_the_variance_of_the_walk_averaged_over_the_period(
        start: float, end: float) -> None:
    """Against the pinned walk's covariance kernel averaged on a 2-D midpoint grid."""
    drift = Drift(t0=100.0, sigma=0.0, walk=0.05)
    n = 3000
    t = start + (np.arange(n) + 0.5) / n * (end - start) if end > start else np.array([start])
    kernel = np.where(t[:, None] * t[None, :] > 0,
                      np.minimum(np.abs(t)[:, None], np.abs(t)[None, :]), 0.0)
    assert drift.scatter(100.0 + start, 100.0 + end) == pytest.approx(
        0.05 ** 2 * kernel.mean(), rel=1e-3)


def test_walk_says_how_far_the_rate_strays_within_a_year() -> None:
    """``walk: J``: a year from the reference time the log factor's 95th percentile is log J."""
    drift = drift_for(None, dt.date(2022, 1, 1), dt.date(2026, 1, 1), walk=1.5)
    assert drift is not None and not drift.wanders
    assert math.sqrt(drift.scatter(drift.t0 + 12, drift.t0 + 12)) * Z90 == pytest.approx(
        math.log(1.5))
    assert drift.scatter(drift.t0, drift.t0) == 0.0


def test_a_case_reads_walk_per_expectation_first_and_not_for_shares() -> None:
    text = (REPO / "priors" / "russia-iran.yaml").read_text(encoding="utf-8")
    case = load_case(REPO, "russia-iran", priors_text=text + "\nwalk: 1.3\n")
    one = case.drift("drone_supply", "transactional")
    assert one is not None and one.walk == pytest.approx(math.log(1.3) / Z90 / math.sqrt(12))
    assert case.drift("diplomatic_alignment", "transactional") is None  # a share
    own = text.replace("transactional:       {low: 20,  high: 700,",
                       "transactional:       {walk: 2, low: 20,  high: 700,")
    assert own != text
    mixed = load_case(REPO, "russia-iran", priors_text=own + "\nwalk: 1.3\n")
    assert mixed.drift("drone_supply", "transactional").walk == pytest.approx(
        math.log(2) / Z90 / math.sqrt(12))
    assert "drone_supply" in mixed.changing_indicators


def test_a_walk_on_a_share_or_at_most_1_is_refused_with_its_place() -> None:
    text = (REPO / "priors" / "russia-iran.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  diplomatic_alignment:"))
    row = next(i for i in range(start, len(lines)) if "transactional:" in lines[i])
    lines[row] = lines[row].replace("{", "{walk: 2, ", 1)
    with pytest.raises(CaseError) as caught:
        load_case(REPO, "russia-iran", priors_text="\n".join(lines) + "\n")
    assert "takes no walk" in caught.value.problems[0].message
    with pytest.raises(CaseError) as caught:
        load_case(REPO, "russia-iran", priors_text=text + "\nwalk: 1\n")
    assert "walk" in str(caught.value.problems[0].field)


@pytest.mark.parametrize("n", [1, 3])
def test_an_events_moment_over_the_slope_matches_a_numerical_integral(n: int) -> None:
    """``log E[exp(n offset(s, t))]`` against a trapezoid sum over the slope's prior."""
    from toolkit.model.trajectory import Drift, months_since_epoch

    t0 = months_since_epoch(dt.date(2024, 1, 1))
    drift = Drift(t0=t0, sigma=0.42, path=((t0 - 24, -0.5), (t0, 0.0), (t0 + 36, 1.2)))
    t = months_since_epoch(dt.date(2026, 5, 17))
    s = np.linspace(-12 * drift.sigma, 12 * drift.sigma, 200_001)
    integrand = np.exp(drift.log_prior(s) + n * drift.offsets(s, t, t, False))
    assert drift.log_event_moment(n, t) == pytest.approx(
        math.log(np.trapezoid(integrand, s)), abs=1e-9)
