"""Watched indicators, logged events, quiet time, echoes and the case window."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from toolkit.core.errors import CaseError
from toolkit.families.observation import DAYS_PER_MONTH
from toolkit.model.case import load_case
from toolkit.model.watch import Span, parse_spans, watched_months
from toolkit.outputs.forecast import run_forecast
from toolkit.store.ledger import append_item
from toolkit.ui.cli import main

HEADER = "id,reported_on,period_start,period_end,indicator,value,unit,source,reliability,status"
REPO = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2024, 12, 31)
WATCH_START = dt.date(2023, 1, 1)


def _case(root: Path, rows: list[str], watch: str = "", extra_header: str = "") -> Path:
    priors = root / "priors" / "russia-iran.yaml"
    text = (REPO / "priors" / "russia-iran.yaml").read_text(encoding="utf-8")
    if watch:
        text += f"\nwatch:\n  joint_production: {watch}\n"
    priors.write_text(text, encoding="utf-8")
    (root / "evidence" / "russia-iran.csv").write_text(
        HEADER + extra_header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return root


def _gamma_zero_events(alpha: float, beta: float, months: float) -> float:
    """log P(no event in ``months`` | Gamma(alpha, beta) monthly rate)."""
    return alpha * math.log(beta / (beta + months))


def test_spans_parse_and_refuse_overlaps() -> None:
    assert parse_spans("since 2022-08-01") == (Span(dt.date(2022, 8, 1)),)
    with pytest.raises(ValueError, match="overlap"):
        parse_spans(["since 2022-01-01", "2023-01-01 to 2023-02-01"])
    with pytest.raises(ValueError, match="not a watch span"):
        parse_spans("from 2022")
    spans = parse_spans(["2024-01-01 to 2024-01-10", "since 2024-02-01"])
    assert watched_months(spans, None, dt.date(2024, 2, 5)) == pytest.approx(15 / DAYS_PER_MONTH)
    assert watched_months(spans, dt.date(2024, 1, 5), dt.date(2024, 2, 5)) == \
        pytest.approx(10 / DAYS_PER_MONTH)


def test_quiet_watched_time_is_evidence_of_a_low_rate(case_root: Path) -> None:
    """No logged event in two watched years: exactly the Gamma zero-count marginal."""
    case = load_case(_case(case_root, [], watch=f"since {WATCH_START}"), "russia-iran")
    forecast = run_forecast(case, as_of=AS_OF)
    months = ((AS_OF - WATCH_START).days + 1) / DAYS_PER_MONTH
    expected = np.array([_gamma_zero_events(*case.prior_params("joint_production", k), months)
                         for k in case.priors.scenario_ids])
    log_post = np.log(case.priors.weights) + expected
    posterior = np.exp(log_post - log_post.max())
    assert forecast.probabilities == pytest.approx(posterior / posterior.sum(), abs=1e-9)
    assert forecast.trail.shape == (1, 3)  # no item: the quiet time is in the final numbers
    unwatched = run_forecast(load_case(_case(case_root, []), "russia-iran"), as_of=AS_OF)
    assert forecast.probabilities[2] > unwatched.probabilities[2]  # drift gains


def test_an_event_log_reads_as_one_process_not_as_daily_windows(case_root: Path) -> None:
    """Three A1 events in a watched span: Gamma-Poisson with 3 events over the watched time."""
    days = ["2023-03-02", "2023-09-14", "2024-05-30"]
    rows = [f"J{i},{d},{d},{d},joint_production,yes,events,G10,A1,active"
            for i, d in enumerate(days)]
    case = load_case(_case(case_root, rows, watch=f"since {WATCH_START}"), "russia-iran")
    forecast = run_forecast(case, as_of=AS_OF)
    months = ((AS_OF - WATCH_START).days + 1) / DAYS_PER_MONTH

    def log_m(alpha: float, beta: float) -> float:  # density of 3 event times, rate integrated
        return (alpha * math.log(beta) - math.lgamma(alpha) + math.lgamma(alpha + 3)
                - (alpha + 3) * math.log(beta + months))

    expected = np.array([log_m(*case.prior_params("joint_production", k))
                         for k in case.priors.scenario_ids])
    log_post = np.log(case.priors.weights) + expected
    posterior = np.exp(log_post - log_post.max())
    assert forecast.probabilities == pytest.approx(posterior / posterior.sum(), abs=1e-9)
    # read as three one-day windows (the old reading) the same rows favour the high rate
    daily = run_forecast(load_case(_case(case_root, rows), "russia-iran"), as_of=AS_OF)
    assert daily.probabilities[0] > 2 * forecast.probabilities[0]


def test_longer_items_of_a_watched_indicator_stay_totals(case_root: Path) -> None:
    rows = ["T1,2023-06-30,2023-01-01,2023-06-30,joint_production,yes,events,G10,A1,active"]
    case = load_case(_case(case_root, rows, watch=f"since {WATCH_START}"), "russia-iran")
    items, _ = case.select(AS_OF)
    observations = case.observations(items, AS_OF)
    assert [o.reading for o in observations] == ["total", "quiet"]


def test_echoes_and_repeated_claims_count_once(case_root: Path) -> None:
    base = "E1,2023-06-30,2023-01-01,2023-06-30,drone_supply,200-400,drones,G02,B2,active,"
    rows = [base,
            "E2,2023-07-05,2023-01-01,2023-06-30,drone_supply,200-400,drones,G03,C3,active,E1",
            "E3,2023-07-09,2023-01-01,2023-06-30,drone_supply,200-400,drones,G02,C3,active,"]
    case = load_case(_case(case_root, rows, extra_header=",echo_of"), "russia-iran")
    once = run_forecast(case, as_of=AS_OF)
    assert once.item_ids == ["E1"] and once.excluded["echoes"] == ["E2", "E3"]
    single = load_case(_case(case_root, [base], extra_header=",echo_of"), "russia-iran")
    assert once.probabilities == pytest.approx(run_forecast(single, as_of=AS_OF).probabilities,
                                               abs=1e-12)


def test_echo_of_must_name_an_item_of_the_same_indicator(case_root: Path) -> None:
    rows = ["E1,2023-06-30,2023-01-01,2023-06-30,drone_supply,200-400,drones,G02,B2,active,",
            "E2,2023-07-05,2023-01-01,2023-06-30,drone_supply,300,drones,G03,C3,active,E9",
            "E3,2023-07-05,2023-01-01,2023-06-30,financing,1,USD bn,G03,C3,active,E1"]
    with pytest.raises(CaseError) as caught:
        load_case(_case(case_root, rows, extra_header=",echo_of"), "russia-iran")
    messages = [p.message for p in caught.value.problems]
    assert messages == ["names 'E9', which is not another item of the ledger",
                        "names 'E1', an item of drone_supply, not financing"]


def test_an_exact_duplicate_is_refused_on_add_and_the_file_is_untouched(case_root: Path) -> None:
    path = case_root / "evidence" / "russia-iran.csv"
    before = path.read_bytes()
    cells = {"id": "NEW", "reported_on": "2023-09-01", "period_start": "2022-08-01",
             "period_end": "2023-08-31", "indicator": "drone_supply", "value": "200-900",
             "unit": "drones", "source": "G02", "reliability": "B2"}  # E16 again
    with pytest.raises(CaseError, match="repeats item E16"):
        append_item(case_root, "russia-iran", cells)
    assert path.read_bytes() == before
    result = CliRunner().invoke(main, [
        "evidence", "add", "russia-iran", "--root", str(case_root), "--id", "NEW",
        "--reported-on", "2023-09-01", "--period-start", "2022-08-01", "--period-end",
        "2023-08-31", "--indicator", "drone_supply", "--value", "200-900", "--unit", "drones",
        "--source", "G02", "--reliability", "B2"])
    assert result.exit_code == 2 and "--echo-of E16" in result.output
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("X1,2026-01-05,2026-03-01,2026-06-30,drone_supply,5,drones,G02,B2,active", "period_end",
         "2026-06-30 is after the report date 2026-01-05: a report cannot count what has not "
         "happened yet"),
        ("X1,2028-03-01,2028-01-01,2028-02-01,drone_supply,5,drones,G02,B2,active", "period_end",
         "2028-02-01 is after the case's horizon 2027-12-31"),
        ("X1,2010-06-01,2010-01-01,2010-02-01,drone_supply,5,drones,G02,B2,active",
         "period_start", "2010-01-01 is before the case's start 2021-01-01 (the scenarios' "
         "rates apply from then)"),
    ],
)
def test_periods_outside_the_case_window_are_refused(case_root: Path, row, field,
                                                      message) -> None:
    with pytest.raises(CaseError) as caught:
        load_case(_case(case_root, [row]), "russia-iran")
    problem = next(p for p in caught.value.problems if p.field == field)
    assert (problem.line, problem.field, problem.message) == (2, field, message)


def test_a_report_dated_after_today_is_refused(case_root: Path) -> None:
    later = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    row = f"X1,{later},2026-01-01,2026-01-31,drone_supply,5,drones,G02,B2,active"
    with pytest.raises(CaseError) as caught:
        load_case(_case(case_root, [row]), "russia-iran")
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (2, "reported_on")
    assert f"{later} is after today" in problem.message


def test_pymc_reads_what_it_once_refused(case_root: Path) -> None:
    """Before: the PyMC engine refused the mixture reading, logged events and paths (exit 2).

    Now it reads them on the latent-path model; a small fit stays near the exact answer.
    """
    runner = CliRunner()
    args = ["forecast", "russia-iran", "--root", str(case_root), "--engine", "pymc",
            "--no-save", "--as-of", "2024-01-01", "--json", "--draws", "500"]
    exact = ["forecast", "russia-iran", "--root", str(case_root), "--no-save", "--as-of",
             "2024-01-01", "--json"]

    def both() -> tuple[dict, dict]:
        fitted, known = runner.invoke(main, args), runner.invoke(main, exact)
        assert fitted.exit_code == 0 and known.exit_code == 0, fitted.output
        return json.loads(fitted.stdout), json.loads(known.stdout)

    def close(fitted: dict, known: dict) -> None:
        assert fitted["engine"] == "pymc"
        assert fitted["diagnostics"]["method"].startswith("sequential Monte Carlo")
        for a, b in zip(fitted["scenarios"], known["scenarios"], strict=True):
            assert abs(a["probability"] - b["probability"]) < 0.05

    close(*both())  # the bundled ledger, read by default as reports that may be false
    day = "2023-03-02"
    _case(case_root, [f"J1,{day},{day},{day},joint_production,yes,events,G10,A1,active"],
          watch=f"since {WATCH_START}")
    close(*both())  # a logged event and the watched quiet time around it
    _case(case_root, ["P1,2023-06-30,2023-01-01,2023-06-30,drone_supply,300,drones,G02,B2,"
                      "active"])
    priors = case_root / "priors" / "russia-iran.yaml"
    text = priors.read_text(encoding="utf-8").replace(
        "transactional:       {low: 20,  high: 700,", "transactional:       "
        "{path: [{at: 2023, low: 20, high: 700}, {at: 2026, low: 5, high: 200}],")
    priors.write_text(text + "\nwander: 2\n", encoding="utf-8")
    close(*both())  # a path and a wandering rate


def test_a_sub_period_total_inside_a_reported_total_is_read_with_it(case_root: Path) -> None:
    """Bundled E04 and E05 lie inside E16: under a constant rate they add nothing to it."""
    case = load_case(case_root, "russia-iran")
    items, excluded = case.select(dt.date(2026, 12, 1))
    assert excluded["nested"] == ["E04", "E05"] and excluded["overlapping"] == []
    assert "E16" in [i.id for i in items]
    # exact counts: the total alone gives the same probabilities as total plus sub-count
    rows = ["P1,2023-06-30,2023-01-01,2023-06-30,drone_supply,300,drones,G02,B2,active",
            "C1,2023-07-02,2023-02-01,2023-02-28,drone_supply,40,drones,G02,B2,active"]
    both = run_forecast(load_case(_case(case_root, rows), "russia-iran"), as_of=AS_OF)
    alone = run_forecast(load_case(_case(case_root, rows[:1]), "russia-iran"), as_of=AS_OF)
    assert both.excluded["nested"] == ["C1"]
    assert both.probabilities == pytest.approx(alone.probabilities, abs=1e-12)


def test_crossing_periods_are_named_in_a_warning(case_root: Path) -> None:
    rows = ["A1,2023-06-30,2023-01-01,2023-06-30,drone_supply,300,drones,G02,B2,active",
            "B1,2023-09-30,2023-04-01,2023-09-30,drone_supply,250,drones,G03,B2,active"]
    _case(case_root, rows)
    result = CliRunner().invoke(main, ["forecast", "russia-iran", "--root", str(case_root),
                                       "--no-save", "--as-of", "2024-01-01"])
    assert result.exit_code == 0
    assert ("warning: A1 and B1 (evidence rows 2 and 3) report overlapping periods of one "
            "indicator that the model cannot combine") in result.output


@pytest.mark.parametrize("value", ["1e400", "2e15", ">=1e400"])
def test_a_value_beyond_the_largest_total_is_refused_with_its_row(case_root: Path,
                                                                  value: str) -> None:
    row = f"X1,2026-02-01,2026-01-01,2026-01-31,drone_supply,{value},drones,G02,B2,active"
    with pytest.raises(CaseError) as caught:
        load_case(_case(case_root, [row]), "russia-iran")
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (2, "value")
    assert "beyond the largest total a value may state (1e+15)" in problem.message


def _nb_interval(alpha: float, beta: float, months: float, low: float, high: float) -> float:
    """P(low <= total <= high) when the monthly rate is Gamma(alpha, beta): negative binomial."""
    p = beta / (beta + months)
    return float(stats.nbinom.cdf(high, alpha, p) - stats.nbinom.cdf(low - 1, alpha, p))


def test_a_lower_bound_is_read_as_anchored_near_the_figure(case_root: Path) -> None:
    """``>=100`` drones in a month (A1): 0.5 P(100..300) / log 3 + 0.5 P(100..1e6) / log 1e4.

    Read literally the bound favoured the scenario whose totals lie far above it.
    """
    row = "B1,2023-04-02,2023-03-01,2023-03-31,drone_supply,>=100,drones,G06,A1,active"
    case = load_case(_case(case_root, [row]), "russia-iran")
    (obs,) = case.observations(case.evidence)
    assert obs.anchor == pytest.approx((300.0, 1e6, math.log(0.5 / math.log(3)),
                                        math.log(0.5 / math.log(1e4))))
    months = 31 / DAYS_PER_MONTH

    def posterior(log_m: np.ndarray) -> np.ndarray:
        log_post = np.log(case.priors.weights) + log_m
        weights = np.exp(log_post - log_post.max())
        return weights / weights.sum()

    params = [case.prior_params("drone_supply", k) for k in case.priors.scenario_ids]
    anchored = np.log([0.5 / math.log(3) * _nb_interval(a, b, months, 100, 300)
                       + 0.5 / math.log(1e4) * _nb_interval(a, b, months, 100, 1e6)
                       for a, b in params])
    literal = np.log([_nb_interval(a, b, months, 100, math.inf) for a, b in params])
    forecast = run_forecast(case, as_of=AS_OF)
    assert forecast.probabilities == pytest.approx(posterior(anchored), abs=1e-7)
    assert abs(posterior(literal)[0] - forecast.probabilities[0]) > 0.03


def test_yes_and_the_tempered_reading_keep_bounds_literal(case_root: Path) -> None:
    rows = ["B1,2023-04-02,2023-03-01,2023-03-31,joint_production,yes,events,G10,A1,active",
            "B2,2023-04-02,2023-03-01,2023-03-31,drone_supply,>=0,drones,G06,A1,active",
            "B3,2023-04-02,2023-03-01,2023-03-31,sanctions_pressure,>2.5,actions,G13,A1,active",
            "B4,2023-04-02,2023-03-01,2023-03-31,financing,>=0.5,USD bn,G02,A1,active"]
    case = load_case(_case(case_root, rows), "russia-iran")
    assert [o.anchor[:2] for o in case.observations(case.evidence)] == \
        [(), (), (9.0, 30000.0), (1.5, 5000.0)]  # whole counts round down; amounts do not
    priors = case_root / "priors" / "russia-iran.yaml"
    text = priors.read_text(encoding="utf-8")
    priors.write_text(text + "\nbounds: {within: 10, chance: 0.8}\n", encoding="utf-8")
    wide = load_case(case_root, "russia-iran")
    assert wide.observations(wide.evidence)[2].anchor == pytest.approx(
        (30.0, 30000.0, math.log(0.8 / math.log(10)), math.log(0.2 / math.log(1e4))))
    priors.write_text(text + "\nreliability_reading: tempered\n", encoding="utf-8")
    tempered = load_case(case_root, "russia-iran")
    assert all(o.anchor == () for o in tempered.observations(tempered.evidence))
    priors.write_text(text + "\nbounds: {within: 1}\n", encoding="utf-8")
    with pytest.raises(CaseError, match="within"):
        load_case(case_root, "russia-iran")
