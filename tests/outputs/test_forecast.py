"""Forecast assembly: the JSON of DESIGN.md, estimative language, headline, edge cases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from toolkit.core.errors import CaseError
from toolkit.inference.engines import EngineResult, get_engine
from toolkit.model.case import Case, load_case
from toolkit.outputs.forecast import assemble, default_seed, run_forecast
from toolkit.outputs.language import ICD203, estimative_word, percent
from toolkit.ui.cli import main


@pytest.fixture(scope="module")
def forecast_json(repo_root: Path) -> dict:
    result = CliRunner().invoke(main, ["forecast", "russia-iran", "--engine", "exact", "--json",
                                       "--no-save", "--root", str(repo_root)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_the_design_keys(forecast_json: dict, bundled_case: Case) -> None:
    data = forecast_json
    assert {"case", "as_of", "engine", "scenarios", "evidence_used", "diagnostics"} <= set(data)
    assert data["case"] == "russia-iran"
    assert data["engine"] == "exact"
    assert data["as_of"] == dt.date.today().isoformat()
    assert [s["id"] for s in data["scenarios"]] == bundled_case.priors.scenario_ids
    for scenario in data["scenarios"]:
        assert {"id", "label", "probability", "interval"} <= set(scenario)
        lo, hi = scenario["interval"]
        assert 0 <= lo <= scenario["probability"] <= hi <= 1
        assert scenario["estimate"] == estimative_word(scenario["probability"])
    assert sum(s["probability"] for s in data["scenarios"]) == pytest.approx(1.0, abs=1e-12)
    nested = data["evidence_excluded"]["nested"]
    assert nested == ["E04", "E05"]  # read with E16
    assert sorted(data["evidence_used"] + nested) == sorted(i.id for i in bundled_case.evidence)
    assert data["diagnostics"]["converged"] is True
    assert len(data["trail"]) == len(data["evidence_used"]) + 1
    assert data["trail"][0]["after"] is None
    assert [row["after"] for row in data["trail"][1:]] == data["evidence_used"]
    assert data["seed"] == default_seed("russia-iran")


def test_json_matches_the_library(forecast_json: dict, bundled_case: Case) -> None:
    forecast = run_forecast(bundled_case)
    assert [s["probability"] for s in forecast_json["scenarios"]] == pytest.approx(
        forecast.probabilities.tolist(), abs=1e-12)
    assert forecast.to_dict()["headline"] == forecast_json["headline"]


def test_json_as_of(repo_root: Path, bundled_case: Case) -> None:
    result = CliRunner().invoke(main, ["forecast", "russia-iran", "--json", "--as-of",
                                       "2023-01-01", "--no-save", "--root", str(repo_root)])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["as_of"] == "2023-01-01"
    cut = dt.date(2023, 1, 1)
    ordered = sorted(bundled_case.evidence, key=lambda i: (i.reported_on, i.line))
    assert data["evidence_used"] == [i.id for i in ordered if i.reported_on <= cut]
    assert data["evidence_excluded"]["after_as_of"] == [i.id for i in ordered
                                                        if i.reported_on > cut]
    assert {"E01", "E04"} <= set(data["evidence_used"])


@pytest.mark.parametrize(
    ("probability", "word"),
    [(0.0, "almost no chance"), (0.049, "almost no chance"), (0.05, "very unlikely"),
     (0.19, "very unlikely"), (0.2, "unlikely"), (0.5, "roughly even chance"),
     (0.68, "likely"), (0.8, "very likely"), (0.951, "almost certain"), (1.0, "almost certain")],
)
def test_estimative_words(probability: float, word: str) -> None:
    assert estimative_word(probability) == word


def test_icd203_scale_is_complete_and_ordered() -> None:
    uppers = [u for u, _ in ICD203]
    assert uppers == sorted(uppers) and uppers[-1] == 1.0
    assert [w for _, w in ICD203][0] == "almost no chance"


def test_percent() -> None:
    assert percent(0.0) == "0%"
    assert percent(0.001) == "<1%"
    assert percent(0.999) == ">99%"
    assert percent(1.0) == "100%"
    assert percent(0.684) == "68%"


def test_headline_is_decision_ready(bundled_case: Case) -> None:
    forecast = run_forecast(bundled_case)
    k = int(np.argmax(forecast.probabilities))
    headline = forecast.headline()
    assert headline.startswith(f"{forecast.labels[k]} is "
                               f"{estimative_word(forecast.probabilities[k])} "
                               f"({percent(forecast.probabilities[k])}, ")
    assert "likelihood ratio" in headline and headline.endswith(".")


def test_the_headline_says_which_way_the_forecast_moved_not_the_largest_item(
        bundled_case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scenario that rose overall is "up from" its prior even when its largest single move
    went down; the interval reads "a to b", never ">99%->99%"."""
    from toolkit.outputs.forecast import Forecast

    forecast = run_forecast(bundled_case)
    k = int(np.argmax(forecast.probabilities))
    assert forecast.probabilities[k] > forecast.prior[k]
    fall = {"scenario": forecast.scenario_ids[k], "change": -0.2, "item": "E99",
            "from": 0.9, "to": 0.7, "likelihood_ratio": 0.4, "indicator": "x"}
    monkeypatch.setattr(Forecast, "drivers", lambda self, top=10: [fall])
    headline = forecast.headline()
    assert f"up from {percent(forecast.prior[k])} before the evidence" in headline
    assert "E99 (90% to 70%" in headline
    lo, hi = forecast.intervals[k]
    assert f"interval {percent(lo)} to {percent(hi)})" in headline


def test_zero_weight_scenario(bundled_case: Case) -> None:
    weights = np.array([0.0, 0.5, 0.5])
    forecast = run_forecast(bundled_case, weights=weights)
    assert forecast.probabilities[0] == 0.0
    assert forecast.intervals[0].tolist() == [0.0, 0.0]
    assert np.all(forecast.attribution[:, 0] == 0.0)
    assert forecast.probabilities.sum() == pytest.approx(1.0)


def test_evidence_impossible_everywhere_is_a_user_error(bundled_case: Case) -> None:
    items, excluded = bundled_case.select()
    result = get_engine("exact").run(bundled_case, bundled_case.observations(items), 0)
    impossible = EngineResult(increments=np.full_like(result.increments, -np.inf),
                              log_marginal=np.full(3, -np.inf))
    with pytest.raises(CaseError) as caught:
        assemble(bundled_case, items, excluded, impossible, "exact", dt.date.today(), 0)
    assert "the evidence is impossible under every scenario" in str(caught.value)


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown engine 'magic'"):
        get_engine("magic")


def test_script_note_survives_into_the_forecast(case_root: Path) -> None:
    path = case_root / "evidence" / "russia-iran.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Zelenskyy's tally", "<script>alert(1)</script> tally"),
                    encoding="utf-8")
    forecast = run_forecast(load_case(case_root, "russia-iran"))
    notes = {i.id: i.note for i in load_case(case_root, "russia-iran").evidence}
    assert notes["E05"].startswith("<script>alert(1)</script> tally of 11 Shaheds")
    assert "E05" in forecast.excluded["nested"]
