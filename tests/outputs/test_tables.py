"""The DataFrames of evidence, trail, attribution and backtests."""

from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from toolkit.model.questions import load_questions
from toolkit.outputs.backtest import backtest, rolling_backtest
from toolkit.outputs.forecast import run_forecast
from toolkit.outputs.tables import (
    attribution_table,
    backtest_table,
    evidence_table,
    rolling_table,
    trail_table,
)

AS_OF = dt.date(2023, 7, 1)


@pytest.fixture(scope="module")
def forecast(bundled_case):
    return run_forecast(bundled_case, as_of=AS_OF)


def test_evidence_table_is_the_ledger_with_what_counts(bundled_case):
    table = evidence_table(bundled_case, AS_OF)
    with bundled_case.paths.evidence.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))  # an independent read of the file
    assert list(table.index) == [row["id"] for row in rows]
    assert list(table["value"]) == [row["value"] for row in rows]
    assert [d.date().isoformat() for d in table["reported_on"]] == [r["reported_on"]
                                                                     for r in rows]
    assert pd.api.types.is_datetime64_any_dtype(table["period_end"])
    items, excluded = bundled_case.select(AS_OF)
    assert set(table.index[table["counted"]]) == {item.id for item in items}
    later = table.index[table["reason"] == "after_as_of"]
    assert set(later) == set(excluded["after_as_of"]) and len(later) > 0
    assert (table.loc[later, "reported_on"].dt.date > AS_OF).all()
    assert not table.loc[~table["counted"], "reason"].eq("").any()


def test_trail_and_attribution_tables_are_the_forecasts_numbers(forecast):
    trail = trail_table(forecast)
    assert len(trail) == len(forecast.items) + 1
    assert pd.isna(trail["item"].iloc[0]) and list(trail["item"][1:]) == forecast.item_ids
    assert pd.isna(trail["reported_on"].iloc[0])
    np.testing.assert_allclose(trail[forecast.scenario_ids], forecast.trail, atol=0)
    np.testing.assert_allclose(trail[forecast.scenario_ids].sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(trail[forecast.scenario_ids].iloc[0], forecast.prior, atol=1e-15)
    table = attribution_table(forecast)
    assert list(table.index) == forecast.item_ids
    assert list(table["indicator"]) == [item.indicator for item in forecast.items]
    logs = table[forecast.scenario_ids].to_numpy()
    np.testing.assert_allclose(logs, forecast.attribution, atol=0)
    np.testing.assert_allclose(logs.sum(axis=1), 0.0, atol=1e-9)  # centred
    # each row's log odds move is the trail's: log p_after/p_before, up to the shared term
    moves = np.diff(np.log(forecast.trail), axis=0)
    np.testing.assert_allclose(moves - moves.mean(axis=1, keepdims=True), logs, atol=1e-9)


def test_backtest_tables_score_as_the_definitions_say(bundled_case):
    questions = load_questions(bundled_case)
    result = backtest(bundled_case, questions, AS_OF)
    table = backtest_table(result)
    assert list(table.index) == [r.question.id for r in result.results]
    scored = table[table["scored"]]
    assert len(scored) > 0
    outcome = (scored["resolution"] == "yes").astype(float)
    np.testing.assert_allclose(scored["brier"], (scored["probability"] - outcome) ** 2)
    np.testing.assert_allclose(scored["brier_50"], 0.25)
    assert table.loc[~table["scored"], "brier"].isna().all()
    rolling = rolling_backtest(bundled_case, questions, AS_OF, dt.date(2023, 9, 1))
    tidy = rolling_table(rolling)
    assert len(tidy) == len(rolling.steps) * len(questions.questions) and len(rolling.steps) >= 2
    for qid, series in rolling.series().items():
        got = tidy[tidy["question"] == qid]
        assert [d.date() for d in got["as_of"]] == [day for day, _ in series]
        np.testing.assert_allclose(got["probability"], [p for _, p in series])
