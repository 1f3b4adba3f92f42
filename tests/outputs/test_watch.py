"""What to watch next: entropy reductions checked by brute force on a tiny case."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import special, stats

from toolkit.model.case import load_case
from toolkit.outputs.watch import entropy_bits, expected_entropy_reduction, watch
from toolkit.ui.cli import main

PRIORS = """\
schema_version: 1
case: tiny
title: Tiny
question: Which scenario?
horizon: 2027-12-31
reliability_reading: tempered  # the brute-force checks below integrate tempered likelihoods
scenarios:
  - {id: high, label: High, weight: 0.5}
  - {id: low, label: Low, weight: 0.5}
expectations:
  sanctions_pressure:
    high: {gamma: {alpha: 4, beta: 2}, rationale: r}
    low: {gamma: {alpha: 2, beta: 4}, rationale: r}
  drone_supply:
    high: {gamma: {alpha: 3, beta: 0.2}, rationale: r}
    low: {gamma: {alpha: 2, beta: 1}, rationale: r}
  financing:
    high: {lognormal: {mu: 1.0, sigma: 0.5}, per: year, rationale: r}
    low: {lognormal: {mu: 0.0, sigma: 0.5}, per: year, rationale: r}
  diplomatic_alignment:
    high: {beta: {a: 8, b: 2}, rationale: r}
    low: {beta: {a: 3, b: 3}, rationale: r}
"""
EVIDENCE = """\
id,reported_on,period_start,period_end,indicator,value,unit,source,reliability,status,note
E1,2023-01-31,2023-01-01,2023-01-31,sanctions_pressure,3,actions,C1,A1,active,
E2,2023-01-31,2023-01-01,2023-01-31,diplomatic_alignment,2/3,statements,C1,B2,active,
E3,2023-01-31,2022-01-01,2022-12-31,financing,1.5,USD bn,C1,A1,active,
E4,2023-01-31,2023-01-01,2023-01-31,drone_supply,>=5,drones,C1,B2,active,
"""
SEED = """\
schema_version: 1
source: {id: src, title: A source, publisher: Nobody, date: 2023}
claims:
  - {id: C1, summary: Everything in the tiny case.}
"""
AS_OF = dt.date(2023, 6, 1)
MONTHS = 3.0


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    for folder, name, text in (("priors", "tiny.yaml", PRIORS), ("evidence", "tiny.csv", EVIDENCE),
                               ("seeds/tiny", "src.yaml", SEED)):
        (root / folder).mkdir(parents=True)
        (root / folder / name).write_text(text, encoding="utf-8")
    return load_case(root, "tiny")


@pytest.fixture(scope="module")
def ranked(tiny):
    return watch(tiny, AS_OF, months=MONTHS, signals=3)


def mutual_information(prior, rows):
    """Brute force: H(prior) - sum_y p(y) H(posterior | y), in bits, by explicit loops."""
    total = 0.0
    for y in range(rows.shape[1]):
        joint = [prior[k] * rows[k, y] for k in range(len(prior))]
        p_y = sum(joint)
        if p_y <= 0:
            continue
        h = -sum(j / p_y * math.log2(j / p_y) for j in joint if j > 0)
        total += p_y * h
    return -sum(p * math.log2(p) for p in prior if p > 0) - total


def test_entropy_and_reduction_basics():
    assert entropy_bits(np.array([0.5, 0.5])) == pytest.approx(1.0)
    assert entropy_bits(np.array([1.0, 0.0])) == 0.0
    prior = np.array([0.2, 0.3, 0.5])
    same = np.tile([0.1, 0.6, 0.3], (3, 1))
    assert expected_entropy_reduction(prior, same)[0] == pytest.approx(0.0, abs=1e-12)
    revealing = np.eye(3)
    assert expected_entropy_reduction(prior, revealing)[0] == pytest.approx(
        entropy_bits(prior))
    rows = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.3, 0.3, 0.4]])
    assert expected_entropy_reduction(prior, rows)[0] == pytest.approx(
        mutual_information(prior, rows), abs=1e-12)


def by_id(entries):
    return {e.indicator: e for e in entries}


def test_count_matches_brute_force(tiny, ranked):
    forecast, entries = ranked
    prior = forecast.probabilities
    rows = []
    for a, b in ((4 + 3, 2 + 31 / (365.25 / 12)), (2 + 3, 4 + 31 / (365.25 / 12))):
        y = np.arange(0, 400)
        log_pmf = (special.gammaln(y + a) - special.gammaln(a) - special.gammaln(y + 1)
                   + a * np.log(b / (b + MONTHS)) + y * np.log(MONTHS / (b + MONTHS)))
        rows.append(np.exp(log_pmf))
    brute = mutual_information(prior, np.array(rows))
    entry = by_id(entries)["sanctions_pressure"]
    assert entry.exact
    assert entry.reduction_bits == pytest.approx(brute, abs=1e-9)
    assert entry.reduction_bits > 0.01


def test_censored_count_matches_brute_force(tiny, ranked):
    forecast, entries = ranked
    t_obs, r = 31 / (365.25 / 12), 0.85 * 0.85
    rates = np.linspace(1e-4, 200, 40_001)
    rows = []
    for alpha, beta in ((3, 0.2), (2, 1)):
        log_w = stats.gamma.logpdf(rates, alpha, scale=1 / beta) + r * stats.poisson.logsf(
            4, rates * t_obs)
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        mean = rates * MONTHS
        row = [w @ np.exp(k[:, None] * np.log(mean) - mean - special.gammaln(k[:, None] + 1)).T
               for k in np.split(np.arange(1000.0), 10)]
        rows.append(np.concatenate(row))
    brute = mutual_information(forecast.probabilities, np.array(rows))
    assert by_id(entries)["drone_supply"].reduction_bits == pytest.approx(brute, abs=1e-5)


def test_signal_matches_brute_force(ranked):
    forecast, entries = ranked
    r = 0.85 * 0.85
    rows = []
    for a, b in ((8 + 2 * r, 2 + r), (3 + 2 * r, 3 + r)):
        k = np.arange(4)
        rows.append(np.exp(special.gammaln(4) - special.gammaln(k + 1) - special.gammaln(4 - k)
                           + special.betaln(k + a, 3 - k + b) - special.betaln(a, b)))
    brute = mutual_information(forecast.probabilities, np.array(rows))
    assert by_id(entries)["diplomatic_alignment"].reduction_bits == pytest.approx(brute, abs=1e-9)


def test_amount_matches_continuous_integral(ranked):
    forecast, entries = ranked
    prior = forecast.probabilities
    noise, x_obs = 0.35, math.log(1.5) - math.log(365 / (365.25 / 12))
    x = np.linspace(-12, 12, 200_001)
    densities = []
    for mu0 in (1.0 - math.log(12), 0.0 - math.log(12)):
        precision = 1 / 0.25 + 1 / noise**2
        mean = (mu0 / 0.25 + x_obs / noise**2) / precision
        densities.append(stats.norm.pdf(x, mean + math.log(MONTHS),
                                        math.sqrt(1 / precision + noise**2)))
    densities = np.array(densities)
    mix = prior @ densities
    with np.errstate(divide="ignore", invalid="ignore"):
        integrand = np.where(densities > 0, densities * np.log2(densities / mix), 0.0)
    brute = float(prior @ np.trapezoid(integrand, x, axis=1))
    entry = by_id(entries)["financing"]
    assert not entry.exact
    assert entry.reduction_bits <= brute + 1e-9
    assert entry.reduction_bits == pytest.approx(brute, abs=1e-4)


def test_ranking_is_deterministic_and_sorted(tiny, ranked):
    _, entries = ranked
    again = watch(tiny, AS_OF, months=MONTHS, signals=3)[1]
    assert [e.indicator for e in again] == [e.indicator for e in entries]
    assert [e.reduction_bits for e in again] == [e.reduction_bits for e in entries]
    values = [e.reduction_bits for e in entries]
    assert values == sorted(values, reverse=True)
    assert all(v >= 0 for v in values)
    assert all(e.expected_entropy_bits <= e.current_entropy_bits + 1e-12 for e in entries)


def test_bundled_case_ranking(bundled_case):
    forecast, entries = watch(bundled_case, dt.date(2023, 7, 1))
    assert len(entries) == len(bundled_case.used_indicators)
    assert all(e.reduction_bits >= 0 for e in entries)
    assert entries[0].reduction_bits > entries[-1].reduction_bits
    # measured (mixture reading, broad reference, anchored bounds): small-arms totals separate the
    # scenarios most in mid-2023
    assert entries[0].indicator == "small_arms_ammunition"
    assert entries[0].reduction_bits == pytest.approx(0.2451, abs=2e-3)
    assert entries[0].current_entropy_bits == pytest.approx(entropy_bits(forecast.probabilities))


def test_cli_watch(repo_root: Path):
    runner = CliRunner()
    out = runner.invoke(main, ["watch", "russia-iran", "--as-of", "2023-07-01",
                               "--root", str(repo_root)])
    assert out.exit_code == 0, out.output
    assert "Small-arms ammunition supply" in out.stdout.splitlines()[4]
    out = runner.invoke(main, ["watch", "russia-iran", "--as-of", "2023-07-01", "--json",
                               "--root", str(repo_root)])
    data = json.loads(out.stdout)
    assert [row["indicator"] for row in data["indicators"]][0] == "small_arms_ammunition"
    assert len(data["indicators"]) == 11
    bad = runner.invoke(main, ["watch", "no-such-case", "--root", str(repo_root)])
    assert bad.exit_code == 2
