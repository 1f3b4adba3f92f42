"""The exact engine on the bundled case and on a case small enough to compute by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from toolkit.inference.engines import get_engine
from toolkit.inference.reference import with_references
from toolkit.model.case import Case, load_case
from toolkit.outputs.forecast import Forecast, run_forecast

AS_OF = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def forecast(bundled_case: Case) -> Forecast:
    return run_forecast(bundled_case, engine="exact", as_of=AS_OF)


def test_probabilities_and_trail(forecast: Forecast, bundled_case: Case) -> None:
    # E04 and E05 lie inside E16 and are read with it (left out as nested)
    assert forecast.excluded["nested"] == ["E04", "E05"]
    n = len(bundled_case.evidence) - 2
    assert forecast.probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(forecast.probabilities >= 0)
    assert forecast.trail.shape == (n + 1, 3)
    assert forecast.trail.sum(axis=1) == pytest.approx(np.ones(n + 1), abs=1e-12)
    assert forecast.trail[0] == pytest.approx(np.array(bundled_case.priors.weights), abs=1e-15)
    assert np.array_equal(forecast.trail[-1], forecast.probabilities)
    assert forecast.increments.shape == (n, 3)
    assert forecast.diagnostics["converged"] is True


def _brute_log_marginal(family, params, observations, points: int = 1_000_001) -> float:
    """Independent reference: the plain trapezoid rule on a million-point uniform grid
    (spacing about 3e-5, far finer than the narrowest likelihood spike of the case)."""
    lo, hi = family.bracket(params, observations)
    u = np.linspace(lo - 2.0, hi + 2.0, points)
    values = family.log_posterior_u(u, params, observations)
    peak = values.max()
    dense = np.exp(values - peak)
    return float(math.log(np.sum((dense[1:] + dense[:-1]) / 2) * (u[1] - u[0])) + peak)


def test_engine_total_matches_independent_quadrature(
    forecast: Forecast, bundled_case: Case
) -> None:
    """The new model (mixture reliability) against a brute-force grid per indicator."""
    items, _ = bundled_case.select(AS_OF)
    observations = with_references(bundled_case, bundled_case.observations(items, AS_OF))
    by_indicator = defaultdict(list)
    for o in observations:
        by_indicator[o.indicator].append(o)
    expected = np.zeros(3)
    for k, scenario in enumerate(bundled_case.priors.scenario_ids):
        for indicator, group in by_indicator.items():
            expected[k] += _brute_log_marginal(bundled_case.indicators[indicator].family,
                                              bundled_case.prior_params(indicator, scenario),
                                              group)
    result = get_engine("exact").run(bundled_case, observations, 0)
    assert result.log_marginal == pytest.approx(expected, abs=3e-6)
    assert result.log_marginal == pytest.approx(result.increments.sum(axis=0), abs=1e-12)
    log_post = np.log(bundled_case.priors.weights) + expected
    posterior = np.exp(log_post - log_post.max())
    assert forecast.probabilities == pytest.approx(posterior / posterior.sum(), abs=3e-6)


def test_attribution_adds_up_to_the_posterior_log_odds(forecast: Forecast) -> None:
    log_prior = np.log(forecast.prior)
    log_post = np.log(forecast.probabilities)
    summed = forecast.attribution.sum(axis=0)
    for j in range(3):
        for k in range(3):
            prior_odds = log_prior[j] - log_prior[k]
            assert prior_odds + summed[j] - summed[k] == pytest.approx(
                log_post[j] - log_post[k], abs=1e-9)
    # centred: each item's attributions sum to zero across scenarios
    assert forecast.attribution.sum(axis=1) == pytest.approx(np.zeros(len(forecast.items)),
                                                             abs=1e-12)


def test_likelihood_ratios_match_the_trail(forecast: Forecast) -> None:
    ratios = forecast.likelihood_ratios
    trail = forecast.trail
    for i in range(len(forecast.items)):
        for k in range(3):
            before = trail[i, k] / (1 - trail[i, k])
            after = trail[i + 1, k] / (1 - trail[i + 1, k])
            assert after == pytest.approx(before * ratios[i, k], rel=1e-9)


def test_drivers_are_the_largest_moves(forecast: Forecast) -> None:
    drivers = forecast.drivers(top=5)
    changes = [abs(d["change"]) for d in drivers]
    assert changes == sorted(changes, reverse=True)
    deltas = np.abs(np.diff(forecast.trail, axis=0))
    assert changes[0] == pytest.approx(deltas.max())
    for d in drivers:
        i = forecast.item_ids.index(d["item"])
        k = forecast.scenario_ids.index(d["scenario"])
        assert d["from"] == forecast.trail[i, k] and d["to"] == forecast.trail[i + 1, k]


def _rewrite(root: Path, change) -> None:
    path = root / "evidence" / "russia-iran.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    fields = list(rows[0])
    rows = [r for r in (change(dict(row)) for row in rows) if r is not None]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def test_as_of_excludes_later_items(case_root: Path) -> None:
    as_of = dt.date(2023, 4, 24)
    full = load_case(case_root, "russia-iran")
    early = run_forecast(full, as_of=as_of)
    later = [i.id for i in full.evidence if i.reported_on > as_of]
    assert later and early.excluded["after_as_of"] == later
    assert all(i.reported_on <= as_of for i in early.items)
    _rewrite(case_root, lambda row: None if row["id"] in later else row)
    trimmed = run_forecast(load_case(case_root, "russia-iran"), as_of=AS_OF)
    assert early.probabilities == pytest.approx(trimmed.probabilities, abs=1e-12)
    assert early.item_ids == trimmed.item_ids
    before_everything = run_forecast(full, as_of=dt.date(2020, 1, 1))
    assert before_everything.probabilities == pytest.approx(np.array(full.priors.weights))
    assert before_everything.trail.shape == (1, 3)


def test_retracted_items_are_ignored(case_root: Path) -> None:
    def retract(row):
        return row | {"status": "retracted"} if row["id"] in ("E04", "E08") else row

    _rewrite(case_root, retract)
    retracted = run_forecast(load_case(case_root, "russia-iran"), as_of=AS_OF)
    assert retracted.excluded["retracted"] == ["E04", "E08"]
    assert "E04" not in retracted.item_ids
    _rewrite(case_root, lambda row: None if row["id"] in ("E04", "E08") else row)
    removed = run_forecast(load_case(case_root, "russia-iran"), as_of=AS_OF)
    assert retracted.probabilities == pytest.approx(removed.probabilities, abs=1e-12)


HAND_PRIORS = """\
schema_version: 1
case: hand
title: Hand-computed case
question: Which?
horizon: 2030-01-01
scenarios:
  - {id: high, label: High, weight: 0.3}
  - {id: low, label: Low, weight: 0.7}
indicators:
  - {id: widgets, label: Widgets, kind: count, unit: widgets}
expectations:
  widgets:
    high: {gamma: {alpha: 4.0, beta: 0.5}, per: month, rationale: about eight a month}
    low:  {gamma: {alpha: 2.0, beta: 1.0}, per: month, rationale: about two a month}
"""
HAND_SEED = """\
schema_version: 1
source: {id: memo, title: Memo, publisher: Us, date: 2024}
claims:
  - {id: M1, summary: Seven widgets in sixty-one days.}
"""


def test_hand_computed_two_scenario_case(tmp_path: Path) -> None:
    (tmp_path / "priors").mkdir()
    (tmp_path / "evidence").mkdir()
    (tmp_path / "seeds" / "hand").mkdir(parents=True)
    (tmp_path / "priors" / "hand.yaml").write_text(HAND_PRIORS, encoding="utf-8")
    (tmp_path / "seeds" / "hand" / "memo.yaml").write_text(HAND_SEED, encoding="utf-8")
    (tmp_path / "evidence" / "hand.csv").write_text(
        "id,reported_on,period_start,period_end,indicator,value,unit,source,reliability,status,"
        "note\nW1,2024-03-01,2024-01-01,2024-03-01,widgets,7,widgets,M1,A1,active,\n",
        encoding="utf-8")
    case = load_case(tmp_path, "hand")
    got = run_forecast(case, as_of=dt.date(2024, 6, 1))

    y, months = 7, 61 / (365.25 / 12)

    def log_nb(alpha: float, beta: float) -> float:
        # integral of Gamma(lam; alpha, beta) Poisson(y; lam * t) d lam, written out
        return (math.lgamma(alpha + y) - math.lgamma(alpha) - math.lgamma(y + 1)
                + alpha * math.log(beta / (beta + months))
                + y * math.log(months / (beta + months)))

    odds = 0.3 * math.exp(log_nb(4.0, 0.5)) / (0.7 * math.exp(log_nb(2.0, 1.0)))
    p_high = odds / (1 + odds)
    assert got.probabilities == pytest.approx([p_high, 1 - p_high], abs=1e-12)
    assert got.increments[0] == pytest.approx([log_nb(4.0, 0.5), log_nb(2.0, 1.0)], abs=1e-12)
    # the default reading: reliability 0.5 ("0.5" in the file) means genuine with probability
    # 0.5, otherwise the reference: 0.9 times the scenarios' average prior predictive plus
    # 0.1 times the Poisson probability averaged over a log-uniform rate (scipy's quad)
    from scipy import integrate, stats

    from toolkit.inference.reference import BROAD, BROAD_REACH

    path = tmp_path / "evidence" / "hand.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",A1,", ",0.5,"), encoding="utf-8")
    mixed = run_forecast(load_case(tmp_path, "hand"), as_of=dt.date(2024, 6, 1))
    family = case.indicators["widgets"].family
    brackets = [family.bracket(p, []) for p in ((4.0, 0.5), (2.0, 1.0))]
    lo = min(b[0] for b in brackets) - BROAD_REACH
    hi = max(b[1] for b in brackets) + BROAD_REACH
    broad = integrate.quad(lambda u: stats.poisson.pmf(y, math.exp(u) * months), lo, hi,
                           points=[math.log(y / months)], epsabs=1e-14, limit=200)[0] / (hi - lo)
    nb = np.exp([log_nb(4.0, 0.5), log_nb(2.0, 1.0)])
    m = 0.5 * nb + 0.5 * ((1 - BROAD) * nb.mean() + BROAD * broad)
    assert mixed.increments[0] == pytest.approx(np.log(m), abs=1e-8)
    assert mixed.probabilities[0] == pytest.approx(0.3 * m[0] / (0.3 * m[0] + 0.7 * m[1]),
                                                   abs=1e-8)
    # the grade bounds the pull: the odds move by m_high / m_low, less than K = 2 either way
    assert 1 / 2 < m[0] / m[1] < 2
    # tempering (reliability_reading: tempered) halves the log likelihood inside the
    # integral: Gamma(alpha + y/2, beta + t/2) normaliser
    priors = tmp_path / "priors" / "hand.yaml"
    priors.write_text(HAND_PRIORS + "reliability_reading: tempered\n", encoding="utf-8")
    half = run_forecast(load_case(tmp_path, "hand"), as_of=dt.date(2024, 6, 1))

    def log_tempered(alpha: float, beta: float, r: float = 0.5) -> float:
        return (alpha * math.log(beta) - math.lgamma(alpha)
                + r * (y * math.log(months) - math.lgamma(y + 1))
                + math.lgamma(alpha + r * y) - (alpha + r * y) * math.log(beta + r * months))

    odds = 0.3 * math.exp(log_tempered(4.0, 0.5)) / (0.7 * math.exp(log_tempered(2.0, 1.0)))
    assert half.probabilities[0] == pytest.approx(odds / (1 + odds), abs=1e-12)
