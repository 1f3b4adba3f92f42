"""Loading the bundled case and the evidence grammar: values, units, reliability, text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from pathlib import Path

import pytest

from toolkit.core.errors import CaseError
from toolkit.families.observation import DAYS_PER_MONTH
from toolkit.model.case import Case, find_root, list_cases, load_case
from toolkit.model.evidence import COLUMNS, EvidenceItem, parse_value, to_observation, unit_factor
from toolkit.model.indicators import STANDARD_INDICATORS
from toolkit.model.reliability import parse_reliability

STANDARD = {
    "drone_supply", "munitions_supply", "advanced_arms_to_iran", "joint_production", "financing",
    "instc_progress", "defense_commitment", "diplomatic_alignment", "sanctions_pressure",
}


def test_bundled_case_loads(bundled_case: Case, repo_root: Path) -> None:
    case = bundled_case
    assert case.name == "russia-iran"
    assert case.priors.schema_version == 1
    assert case.priors.horizon == dt.date(2027, 12, 31)
    assert case.priors.scenario_ids == ["defense_partnership", "transactional", "drift"]
    assert math.isclose(sum(case.priors.weights), 1.0)
    assert len(case.evidence) >= 15
    assert len({i.id for i in case.evidence}) == len(case.evidence)
    assert STANDARD <= set(STANDARD_INDICATORS)
    assert STANDARD <= set(case.indicators)
    assert set(case.used_indicators) <= set(case.indicators)
    # every indicator with expectations has one for every scenario, each with a rationale
    for by_scenario in case.priors.expectations.values():
        assert set(by_scenario) == set(case.priors.scenario_ids)
        assert all(e.rationale.strip() for e in by_scenario.values())
    # every item cites a known claim; every claim id is unique
    assert {i.source for i in case.evidence} <= set(case.claims)
    assert case.sources[0].source.publisher == "GorStra"
    # input hashes of every file, for reproducible runs
    assert set(case.input_hashes) == {
        "priors/russia-iran.yaml", "evidence/russia-iran.csv",
        "seeds/russia-iran/gorstra-2023.yaml",
    }
    assert all(len(h) == 64 for h in case.input_hashes.values())
    assert "russia-iran" in list_cases(repo_root)
    assert find_root(repo_root / "toolkit" / "cli") == repo_root


def test_bundled_evidence_uses_ranges_and_bounds(bundled_case: Case) -> None:
    by_id = {i.id: i for i in bundled_case.evidence}
    obs = {o.item_id: o for o in bundled_case.observations(bundled_case.evidence)}
    # "at least ten a day" over 15 Oct - 3 Nov 2022 (20 days): at least 200, open above
    assert by_id["E04"].days == 20
    assert (obs["E04"].low, obs["E04"].high) == (200.0, math.inf)
    assert obs["E04"].exposure == pytest.approx(20 / DAYS_PER_MONTH)
    # "hundreds" stays a range; 300,000 shells stays a point
    assert (obs["E16"].low, obs["E16"].high) == (200.0, 900.0)
    assert obs["E08"].is_point and obs["E08"].low == 300000
    # grades become reliabilities (the chance a report is genuine)
    assert obs["E08"].reliability == pytest.approx(0.85 * 0.85)
    assert obs["E06"].reliability == 1.0
    assert sum(o.is_censored for o in obs.values()) >= 5


@pytest.mark.parametrize(
    ("text", "kind", "low", "high", "trials"),
    [
        ("300000", "count", 300000, 300000, 1),
        ("300,000", "count", 300000, 300000, 1),
        ("200-900", "count", 200, 900, 1),
        ("200..900", "count", 200, 900, 1),
        ("200 to 900", "count", 200, 900, 1),
        (">=10", "count", 10, math.inf, 1),
        (">10", "count", 11, math.inf, 1),
        ("<=5", "count", 0, 5, 1),
        ("<5", "count", 0, 4, 1),
        ("yes", "occurrence", 1, math.inf, 1),
        ("no", "occurrence", 0, 0, 1),
        ("2.76", "amount", 2.76, 2.76, 1),
        (">2.5", "amount", 2.5, math.inf, 1),
        ("<3", "amount", 0, 3, 1),
        ("1", "signal", 1, 1, 1),
        ("no", "signal", 0, 0, 1),
        ("3/4", "signal", 3, 3, 4),
    ],
)
def test_value_grammar(text: str, kind: str, low: float, high: float, trials: int) -> None:
    parsed = parse_value(text, kind)
    bounds = parsed.whole_bounds() if kind in ("count", "occurrence") else \
        (parsed.low, parsed.high)
    assert (*bounds, parsed.trials) == (low, high, trials)


@pytest.mark.parametrize(
    ("value", "unit", "days", "low", "high"),
    [
        (">10", "drones/day", 20, 201, math.inf),   # was 220: rounding before scaling
        (">=10", "drones/day", 20, 200, math.inf),
        (">=2.5", "drones", 20, 3, math.inf),       # was 2.5 unrounded
        ("<=2.5", "drones", 20, 0, 2),
        ("<10", "drones/day", 2, 0, 19),
        ("1.2-1.8", "drones/day", 2, 3, 3),
        ("45", "drones/month", 20, 30, 30),          # an exact rate: nearest whole number
    ],
)
def test_rates_scale_before_rounding(value, unit, days, low, high) -> None:
    item = _item(value, unit, days)
    obs = to_observation(item, STANDARD_INDICATORS["drone_supply"])
    assert (obs.low, obs.high) == (low, high)


@pytest.mark.parametrize(
    ("indicator", "value", "unit", "days", "message"),
    [
        ("drone_supply", "1.2-1.4", "drones/day", 1,
         "no whole number of events lies between 1.2 and 1.4 over the period"),
        ("joint_production", "yes", "events/day", 30,
         "yes/no says whether an event happened in the period; give it the indicator's unit, "
         "not a rate"),
        ("drone_supply", "2.5", "drones", 3,
         "'2.5' is not a whole number; a count is (give a range such as 2-3, or a rate with "
         "its unit)"),
    ],
)
def test_impossible_values_are_refused(indicator, value, unit, days, message) -> None:
    with pytest.raises(ValueError) as caught:
        to_observation(_item(value, unit, days, indicator), STANDARD_INDICATORS[indicator])
    assert str(caught.value) == message


def test_an_amount_of_at_most_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="admits no possible value"):
        parse_value("<=0", "amount")


def _item(value: str, unit: str, days: int, indicator: str = "drone_supply") -> EvidenceItem:
    start = dt.date(2024, 1, 1)
    return EvidenceItem("X1", start + dt.timedelta(days=days), start,
                        start + dt.timedelta(days=days - 1), indicator, value, unit, "S",
                        "A1", 1.0, "active", "", 2)


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("-5", "count", "'-5' is negative; a count cannot be negative"),
        ("900-200", "count", "range '900-200' has its low end above its high end"),
        ("<0", "count", "'<0' admits no possible value"),
        ("0", "amount", "'0': an exact amount must be > 0 (use '<=x' for 'at most x')"),
        ("5/4", "signal", "'5/4' is not a signal value (use 1, 0, yes, no, or k/n)"),
        ("many", "count",
         "'many' is not a value (use a number, a range like 200-900, a bound like >=10)"),
        ("maybe", "occurrence",
         "'maybe' is not a value (use a number, a range like 200-900, a bound like >=10, yes, "
         "no)"),
    ],
)
def test_bad_values_are_explained(text: str, kind: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_value(text, kind)
    assert str(caught.value) == message


def test_units_and_rates() -> None:
    drones = STANDARD_INDICATORS["drone_supply"]
    assert unit_factor("drones", drones, 20) == 1.0
    assert unit_factor("drones/day", drones, 20) == pytest.approx(20.0)
    assert unit_factor("drones/month", drones, 61) == pytest.approx(61 / DAYS_PER_MONTH)
    assert unit_factor("drones/year", drones, 365) == pytest.approx(365 / 365.25)
    with pytest.raises(ValueError, match="unit 'tonnes' does not fit drone_supply"):
        unit_factor("tonnes", drones, 20)
    with pytest.raises(ValueError, match="does not fit diplomatic_alignment"):
        unit_factor("statements/day", STANDARD_INDICATORS["diplomatic_alignment"], 1)


@pytest.mark.parametrize(
    ("text", "value"),
    [("A1", 1.0), ("b2", 0.85 * 0.85), ("C3", 0.65 * 0.65), ("F6", 0.25), ("E5", 0.0625),
     ("0", 0.0), ("0.7", 0.7), ("1", 1.0)],
)
def test_reliability_grades(text: str, value: float) -> None:
    assert parse_reliability(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("G7", "unknown reliability grade 'G7'"), ("A7", "unknown reliability grade 'A7'"),
     ("1.5", "reliability '1.5' is outside [0, 1]"), ("-0.1", "reliability '-0.1' is outside "
                                                      "[0, 1]")],
)
def test_bad_reliability(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_reliability(text)
    assert str(caught.value) == message


def _rewrite_note(root: Path, item_id: str, note: str) -> None:
    path = root / "evidence" / "russia-iran.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    header = rows[0]
    for row in rows[1:]:
        if row[0] == item_id:
            row[header.index("note")] = note
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def test_script_in_note_survives_loading_unchanged(case_root: Path) -> None:
    note = "<script>alert(1)</script> & \"quotes\", commas, 'apostrophes' <b>bold</b>"
    _rewrite_note(case_root, "E05", note)
    case = load_case(case_root, "russia-iran")
    assert next(i for i in case.evidence if i.id == "E05").note == note


def test_bom_crlf_and_extra_columns_are_accepted(case_root: Path) -> None:
    path = case_root / "evidence" / "russia-iran.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    reordered = ["analyst", *reversed(COLUMNS)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(reordered)
    for row in rows[1:]:
        cells = dict(zip(rows[0], row, strict=True)) | {"analyst": "jd"}
        writer.writerow([cells[c] for c in reordered])
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    case = load_case(case_root, "russia-iran")
    original = load_case(Path(__file__).resolve().parents[2], "russia-iran")
    strip = [(i.id, i.value, i.unit, i.reliability, i.note, i.line) for i in case.evidence]
    assert strip == [(i.id, i.value, i.unit, i.reliability, i.note, i.line)
                     for i in original.evidence]


def test_seed_date_may_be_a_full_date(case_root: Path) -> None:
    seed = case_root / "seeds" / "russia-iran" / "gorstra-2023.yaml"
    seed.write_text(seed.read_text(encoding="utf-8").replace('date: "2023"', "date: 2023-08-01"),
                    encoding="utf-8")
    case = load_case(case_root, "russia-iran")
    assert str(case.sources[0].source.date) == "2023-08-01"


def test_missing_evidence_file_and_seeds(case_root: Path) -> None:
    (case_root / "evidence" / "russia-iran.csv").unlink()
    for path in (case_root / "seeds" / "russia-iran").iterdir():
        path.unlink()
    with pytest.raises(CaseError) as caught:
        load_case(case_root, "russia-iran")
    assert [str(p) for p in caught.value.problems] == [
        "seeds/russia-iran: holds no source digest (*.yaml). Fix: add one YAML digest per "
        "source (see docs/formats.md).",
        "evidence/russia-iran.csv: file is missing. Fix: create it with the header row (see "
        "docs/formats.md).",
    ]


def test_select_orders_by_report_date_and_filters(bundled_case: Case) -> None:
    items, excluded = bundled_case.select(dt.date(2023, 4, 24))
    assert [i.reported_on for i in items] == sorted(i.reported_on for i in items)
    assert all(i.reported_on <= dt.date(2023, 4, 24) for i in items)
    assert "E08" in [i.id for i in items]
    assert "E11" in excluded["after_as_of"]
    assert excluded["retracted"] == []
    everything, excluded = bundled_case.select(None)
    assert excluded["nested"] == ["E04", "E05"]  # read with E16, which holds their periods
    assert len(everything) == len(bundled_case.evidence) - 2
