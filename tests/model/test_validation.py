"""Bad case files are refused with every problem at once: file, line, field, message, fix.

Each folder under ``tests/data/bad/<case>/`` holds exactly one failing file, laid out like a
case root; it is dropped over a scratch copy of the bundled case (``case_root``), so every
other file of the case is valid. The expected messages are asserted verbatim.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.core.errors import CaseError
from toolkit.model.case import load_case
from toolkit.ui.cli import main

BAD = Path(__file__).parents[1] / "data" / "bad"
P = "priors/russia-iran.yaml"
E = "evidence/russia-iran.csv"
S = "seeds/russia-iran/gorstra-2023.yaml"
FIX_GRADE = "Fix: use an Admiralty grade A1-F6 or a probability in [0, 1]."
INDICATORS = (
    "drone_supply, munitions_supply, small_arms_ammunition, advanced_arms_to_iran, "
    "joint_production, financing, instc_progress, defense_commitment, diplomatic_alignment, "
    "sanctions_pressure, covert_caspian_shipping"
)
KNOWN_INDICATORS = (
    "advanced_arms_to_iran, covert_caspian_shipping, defense_commitment, diplomatic_alignment, "
    "drone_supply, financing, instc_progress, joint_production, munitions_supply, "
    "sanctions_pressure, small_arms_ammunition"
)

EXPECTED: dict[str, list[str]] = {
    "watch_unknown_indicator": [
        f"{P}:184: watch.drone_strikes: unknown indicator 'drone_strikes'. Fix: use one of: "
        f"{INDICATORS}.",
    ],
    "reliability_above_one": [
        f"{E}:3: reliability: reliability '1.5' is outside [0, 1]. Fix: use an Admiralty "
        'grade A1-F6 or a probability in [0, 1].',
    ],
    "period_before_start": [
        f"{E}:3: period_start: 2010-01-01 is before the case's start 2021-01-01 (the "
        "scenarios' rates apply from then). Fix: start the period on or after the "
        "case's start, or move 'start' in the priors file.",
    ],
    "iso_week_date": [
        f"{E}:3: reported_on: '2022-W05-1' is not a date. Fix: write the date as "
        'YYYY-MM-DD.',
    ],
    "value_nan": [
        f"{E}:3: value: 'nan' is not a value (use a number, a range like 200-900, a "
        'bound like >=10). Fix: write a count value (see docs/formats.md).',
    ],
    "value_inf_bound": [
        f"{E}:3: value: '>=inf' is not a value (use a number, a range like 200-900, a "
        'bound like >=10). Fix: write a count value (see docs/formats.md).',
    ],
    "value_empty": [
        f'{E}:3: value: is empty. Fix: fill in this required field.',
    ],
    "grade_out_of_scale": [
        f"{E}:3: reliability: unknown reliability grade 'A7'. Fix: use an Admiralty "
        'grade A1-F6 or a probability in [0, 1].',
    ],
    "weight_concentration_zero": [
        f'{P}:35: weight_concentration: Input should be greater than 0 (got 0). Fix: use '
        'a positive value.',
    ],
    "expectation_low_equals_high": [
        f'{P}:88: expectations.drone_supply.drift: low (250) must be below high (250). '
        'Fix: correct the value (see docs/formats.md).',
    ],
    "horizon_not_a_date": [
        f'{P}:33: horizon: Input should be a valid date or datetime, invalid character '
        "in year (got 'end of 2027'). Fix: write the date as YYYY-MM-DD.",
    ],
    "walk_not_a_number": [
        f'{P}:183: walk: Input should be a valid number, unable to parse string as a '
        "number (got 'fast'). Fix: write a number.",
    ],
    "not_whole_count": [
        f"{E}:3: value: '2.5' is not a whole number; a count is (give a range such as "
        '2-3, or a rate with its unit). Fix: write a count value (see docs/formats.md).',
    ],
    "range_without_whole_number": [
        f'{E}:3: value: no whole number of events lies between 1.2 and 1.4 over the '
        'period. Fix: restate the value for this period and unit.',
    ],
    "yes_with_rate_unit": [
        f'{E}:3: value: yes/no says whether an event happened in the period; give it the '
        "indicator's unit, not a rate. Fix: restate the value for this period and unit.",
    ],
    "unknown_status": [
        f"{E}:3: status: 'deleted' is not a status. Fix: use 'active' or 'retracted'.",
    ],
    "unknown_unit": [
        f"{E}:3: unit: unit 'drones/fortnight' does not fit drone_supply (use 'drones' "
        "or a rate such as 'drones/day'). Fix: use 'drones'.",
    ],
    "period_after_report": [
        f'{E}:3: period_end: 2022-02-23 is after the report date 2022-01-05: a report '
        'cannot count what has not happened yet. Fix: end the period on or before '
        'reported_on.',
    ],
    "amount_not_positive": [
        f"{E}:3: value: '0': an exact amount must be > 0 (use '<=x' for 'at most x'). "
        'Fix: write an amount value (see docs/formats.md).',
    ],
    "signal_more_than_trials": [
        f"{E}:3: value: '5/3' is not a signal value (use 1, 0, yes, no, or k/n). Fix: "
        'write a signal value (see docs/formats.md).',
    ],
    "wander_one": [
        f'{P}:183: wander: Input should be greater than 1 (got 1). Fix: use a value '
        'above 1.',
    ],
    "reliability_reading_unknown": [
        f"{P}:183: reliability_reading: Input should be 'mixture' or 'tempered' (got "
        "'maybe'). Fix: use one of the allowed values.",
    ],
    "watch_bad_span": [
        f"{P}:184: watch.joint_production: 'from 2022' is not a watch span. Fix: write "
        "'since YYYY-MM-DD' or 'YYYY-MM-DD to YYYY-MM-DD', or a list of these.",
    ],
    "bounds_unknown_key": [
        f'{P}:183: bounds.chanse: Extra inputs are not permitted (got 0.5). Fix: remove '
        'it or correct its spelling (see docs/formats.md).',
    ],
    "horizon_before_start": [
        f"{P}:33: horizon: is not after the start 2021-01-01; set it to the date the question "
        "is about (got 0001-01-01). Fix: correct the value (see docs/formats.md).",
    ],
    "bounds_within_one": [
        f"{P}:183: bounds.within: Input should be greater than 1 (got 1). Fix: use a value "
        "above 1.",
    ],
    "bounds_chance_above_one": [
        f"{P}:183: bounds.chance: Input should be less than or equal to 1 (got 2). Fix: use a "
        "value within the limit (see docs/formats.md).",
    ],
    "deep_yaml": [
        f"{P}: nests lists or mappings more than 50 levels deep. Fix: flatten it: case files "
        "need a handful of levels (see docs/formats.md).",
    ],
    "long_note": [
        f"{E}:19: note: has 10,001 characters; a note holds at most 10,000. Fix: shorten it, "
        "and keep long texts in the seed digest.",
    ],
    "huge_note": [
        f"{E}:19: note: a cell is longer than the CSV reader's limit (131,072 characters); rows "
        "after it were not read. Fix: shorten it: a note holds at most 10,000 characters.",
    ],
    "huge_weight": [
        f"{P}:40: scenarios[0].weight: Input should be less than or equal to 1000000000 "
        "(got 1e+308). Fix: use a value within the limit (see docs/formats.md).",
    ],
    "huge_value": [
        f"{E}:3: value: 1e400 is beyond the largest total a value may state (1e+15); check the "
        "number. Fix: write a count value (see docs/formats.md).",
    ],
    "future_report": [
        f"{E}:3: reported_on: 2099-01-01 is after today ({dt.date.today()}): a report cannot "
        "appear in the future. Fix: give the date the report appeared.",
    ],
    "negative_weight": [
        f"{P}:14: scenarios[0].weight: Input should be greater than or equal to 0 (got -0.25). "
        "Fix: use a value that is not negative.",
    ],
    # a schema error no longer hides the names checked against it: all in one run
    "schema_and_unknown_names": [
        f"{P}:14: scenarios[0].weight: Input should be greater than or equal to 0 (got -0.25). "
        "Fix: use a value that is not negative.",
        f"{P}:61: expectations.munitions_supply.drfit: unknown scenario 'drfit'. "
        "Fix: use one of: defense_partnership, transactional, drift.",
        f"{P}:68: expectations.advanced_arms: unknown indicator 'advanced_arms'. "
        f"Fix: use one of: {KNOWN_INDICATORS}, or declare it under 'indicators'.",
    ],
    "zero_weights": [
        f"{P}:11: scenarios: all scenario weights are zero. Fix: give at least one positive "
        "weight.",
    ],
    "unknown_scenario": [
        f"{P}:59: expectations.munitions_supply.alliance: unknown scenario 'alliance'. "
        "Fix: use one of: defense_partnership, transactional, drift.",
    ],
    "unknown_indicator_priors": [
        f"{P}:107: expectations.nuclear_cooperation: unknown indicator 'nuclear_cooperation'. "
        f"Fix: use one of: {KNOWN_INDICATORS}, or declare it under 'indicators'.",
    ],
    "unknown_indicator_evidence": [
        f"{E}:6: indicator: unknown indicator 'drone_suply'. Fix: use one of: {INDICATORS}.",
    ],
    "interval_low_above_high": [
        f"{P}:55: expectations.drone_supply.transactional: low (700) must be below high (20). "
        "Fix: correct the value (see docs/formats.md).",
    ],
    "missing_field_yaml": [
        f"{P}: question: Field required. Fix: add this field.",
    ],
    "missing_field_csv": [
        f"{E}:9: source: is empty. Fix: fill in this required field.",
    ],
    "missing_column_csv": [
        f"{E}:1: reported_on: required column(s) missing. Fix: use the header: "
        "id,reported_on,period_start,period_end,indicator,value,unit,source,reliability,status,"
        "note.",
    ],
    "bad_date_yaml": [
        f"{P}:8: horizon: '2027-13-45' is not a valid date. Fix: write the date as YYYY-MM-DD.",
    ],
    "bad_date_csv": [
        f"{E}:7: reported_on: '2023-02-30' is not a date. Fix: write the date as YYYY-MM-DD.",
    ],
    "period_end_before_start": [
        f"{E}:9: period_end: 2022-09-30 is before period_start 2022-10-01. "
        "Fix: make the period end on or after its start.",
    ],
    "negative_count": [
        f"{E}:9: value: '-300000' is negative; a count cannot be negative. "
        "Fix: write a count value (see docs/formats.md).",
    ],
    "duplicate_id": [
        f"{E}:10: id: duplicate evidence id 'E08' (first on line 9). "
        "Fix: give the item a new id; to withdraw an item, retract it instead.",
    ],
    "unknown_source": [
        f"{E}:13: source: cites unknown source claim 'G99'. "
        "Fix: cite a claim id from the case's seeds/ folder or add the claim there.",
    ],
    "unknown_grade": [
        f"{E}:16: reliability: unknown reliability grade 'G7'. {FIX_GRADE}",
    ],
    "yaml_tag": [
        f"{P}:4: YAML tag '!!python/object/apply:os.system' is not allowed (case files are "
        "plain data). Fix: remove the tag and write the value out in full.",
    ],
    "seed_yaml_tag": [
        f"{S}:6: YAML tag '!!python/name:os.system' is not allowed (case files are plain "
        "data). Fix: remove the tag and write the value out in full.",
    ],
    "anchor_alias": [
        f"{P}:59: YAML anchor 'shells' is not allowed (case files are plain data). "
        "Fix: remove the anchor and write the value out in full.",
        f"{P}:64: YAML alias 'shells' is not allowed (case files are plain data). "
        "Fix: remove the alias and write the value out in full.",
    ],
    "empty_priors": [
        f"{P}: is empty. Fix: fill it in or run 'scenarios new'.",
    ],
    "empty_evidence": [
        f"{E}: is empty. Fix: fill it in or run 'scenarios new'.",
    ],
    "wrong_schema_version": [
        f"{P}:2: schema_version: must be 1 (got 2). Fix: put 'schema_version: 1' at the top of "
        "the file.",
    ],
    "not_utf8_yaml": [
        f"{P}:55: is not UTF-8 (byte 0xe9). Fix: save the file as UTF-8.",
    ],
    "not_utf8_csv": [
        f"{E}:16: is not UTF-8 (byte 0xa0). Fix: save the file as UTF-8.",
    ],
    "several_problems_yaml": [
        f"{P}:8: horizon: Input should be a valid date or datetime, input is too short "
        "(got 'someday'). Fix: write the date as YYYY-MM-DD.",
        f"{P}:15: scenarios[0].weight: Input should be greater than or equal to 0 (got -1). "
        "Fix: use a value that is not negative.",
        f"{P}:29: scenarios[2].label: Field required. Fix: add this field.",
        f"{P}:10: colour: Extra inputs are not permitted (got 'blue'). "
        "Fix: remove it or correct its spelling (see docs/formats.md).",
    ],
    "several_problems_csv": [
        f"{E}:7: reliability: unknown reliability grade 'Z9'. {FIX_GRADE}",
        f"{E}:13: period_end: 2023-05-17 is before period_start 2023-05-18. "
        "Fix: make the period end on or after its start.",
        f"{E}:4: value: '-2' is not a signal value (use 1, 0, yes, no, or k/n). "
        "Fix: write a signal value (see docs/formats.md).",
        f"{E}:10: id: duplicate evidence id 'E08' (first on line 9). "
        "Fix: give the item a new id; to withdraw an item, retract it instead.",
        f"{E}:17: unit: unit 'tonnes' does not fit drone_supply (use 'drones' or a rate such "
        "as 'drones/day'). Fix: use 'drones'.",
    ],
}


def overlay(case_root: Path, name: str) -> Path:
    """Drop the one bad file of ``tests/data/bad/<name>/`` over a copy of the bundled case."""
    shutil.copytree(BAD / name, case_root, dirs_exist_ok=True)
    return case_root


def test_every_bad_folder_holds_one_file_and_is_tested() -> None:
    folders = sorted(p.name for p in BAD.iterdir() if p.is_dir())
    assert folders == sorted(EXPECTED)
    for name in folders:
        files = [p for p in (BAD / name).rglob("*") if p.is_file()]
        assert len(files) == 1, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_is_refused_with_exact_messages(case_root: Path, name: str) -> None:
    root = overlay(case_root, name)
    with pytest.raises(CaseError) as caught:
        load_case(root, "russia-iran")
    assert [str(p) for p in caught.value.problems] == EXPECTED[name]
    for problem in caught.value.problems:
        assert problem.file in (P, E, S)
        assert problem.fix, problem


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_exits_2_without_traceback(case_root: Path, name: str) -> None:
    root = overlay(case_root, name)
    before = _snapshot(root)
    result = CliRunner().invoke(main, ["forecast", "russia-iran", "--root", str(root)])
    assert _snapshot(root) == before  # no file written, changed or removed
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    count = len(EXPECTED[name])
    assert result.stderr.splitlines() == [
        f"error: {count} problem{'s' if count != 1 else ''} found:",
        *(f"  {message}" for message in EXPECTED[name]),
    ]
    assert result.stdout == ""
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["yaml_tag", "not_utf8_csv", "several_problems_yaml"])
def test_bad_file_via_python_m_toolkit(case_root: Path, name: str) -> None:
    root = overlay(case_root, name)
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "forecast", "russia-iran", "--root", str(root)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    for message in EXPECTED[name]:
        assert f"  {message}" in done.stderr.splitlines()


def test_problems_in_several_files_are_reported_together(case_root: Path) -> None:
    overlay(case_root, "negative_weight")
    overlay(case_root, "unknown_grade")
    overlay(case_root, "seed_yaml_tag")
    with pytest.raises(CaseError) as caught:
        load_case(case_root, "russia-iran")
    messages = [str(p) for p in caught.value.problems]
    for name in ("negative_weight", "unknown_grade", "seed_yaml_tag"):
        assert EXPECTED[name][0] in messages


def test_yaml_tag_builds_no_object(case_root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    priors = case_root / P
    text = priors.read_text(encoding="utf-8").replace(
        "title: Russia-Iran military and economic relationship",
        f'title: !!python/object/apply:os.system ["touch {marker}"]')
    priors.write_text(text, encoding="utf-8")
    with pytest.raises(CaseError):
        load_case(case_root, "russia-iran")
    assert not marker.exists()


def test_unknown_case_and_missing_root(case_root: Path, tmp_path: Path) -> None:
    with pytest.raises(CaseError) as caught:
        load_case(case_root, "china-iran")
    assert [str(p) for p in caught.value.problems] == [
        "priors/china-iran.yaml: no case named 'china-iran'. Fix: use one of: russia-iran; "
        "or create it with 'scenarios new china-iran'.",
    ]
    empty = tmp_path / "nothing"
    empty.mkdir()
    result = CliRunner().invoke(main, ["forecast", "russia-iran", "--root", str(empty)])
    assert result.exit_code == 2
    assert "holds no priors/ folder" in result.stderr
    assert "Traceback" not in result.output


def test_impossible_date_in_a_seed_is_located(case_root: Path) -> None:
    seed = case_root / S
    seed.write_text(seed.read_text(encoding="utf-8").replace('date: "2023"', "date: 2023-02-30"),
                    encoding="utf-8")
    with pytest.raises(CaseError) as caught:
        load_case(case_root, "russia-iran")
    assert [str(p) for p in caught.value.problems] == [
        f"{S}:6: date: '2023-02-30' is not a valid date. Fix: write the date as YYYY-MM-DD.",
    ]


def test_a_ledger_beyond_the_documented_limits_is_refused(case_root: Path, monkeypatch) -> None:
    from toolkit.model import evidence

    ledger = case_root / "evidence" / "russia-iran.csv"
    before = _snapshot(case_root)
    monkeypatch.setattr(evidence, "MAX_ROWS", 10)  # the bundled ledger has 17 rows
    result = CliRunner().invoke(main, ["forecast", "russia-iran", "--root", str(case_root)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (f"{E}:12: the ledger has more than 10 rows, the most the toolkit reads. "
            "Fix: move old or retracted items to an archive case.") in result.stderr
    monkeypatch.setattr(evidence, "MAX_ROWS", 17)
    assert len(load_case(case_root, "russia-iran").evidence) == 17  # at the limit: fine
    monkeypatch.setattr(evidence, "MAX_LEDGER_BYTES", ledger.stat().st_size - 1)
    result = CliRunner().invoke(main, ["forecast", "russia-iran", "--root", str(case_root)])
    assert result.exit_code == 2 and "the toolkit reads ledgers of at most" in result.stderr
    assert _snapshot(case_root) == before
