"""Questions files: the bundled one loads; bad ones fail with every problem at once."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.core.errors import CaseError
from toolkit.model.questions import load_questions, parse_condition
from toolkit.ui.cli import main

Q = "questions/russia-iran.yaml"
HEADER = "schema_version: 1\ncase: russia-iran\nquestions:\n"
GOOD = """\
  - id: q1
    text: At least one sanction action.
    indicator: sanctions_pressure
    window: {start: 2023-07-01, end: 2023-12-31}
    condition: ">= 1"
"""


def write(root: Path, body: str) -> Path:
    path = root / "questions" / "russia-iran.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def problems(bundled_case, path: Path) -> list[str]:
    with pytest.raises(CaseError) as caught:
        load_questions(bundled_case, path)
    return [str(p).replace(str(path.parent.parent) + "/", "") for p in caught.value.problems]


def test_bundled_questions_load(bundled_case):
    qs = load_questions(bundled_case)
    assert len(qs.questions) >= 6
    resolved = [q for q in qs.questions if q.resolved]
    assert len(resolved) >= 4
    assert {q.resolution for q in resolved} == {"yes", "no"}
    for q in qs.questions:
        assert q.window.start >= dt.date(2023, 7, 1)
        if q.resolved:
            assert q.resolved_on >= q.window.start
            assert len(q.source) > 40
    pact = next(q for q in qs.questions if q.indicator == "defense_commitment")
    assert pact.resolution == "no" and "17 January 2025" in pact.source
    assert qs.condition(qs.questions[0]).low == 1 and math.isinf(qs.condition(qs.questions[0]).high)


@pytest.mark.parametrize(("text", "kind", "signals", "low", "high"), [
    (">= 1", "occurrence", None, 1, math.inf),
    ("> 5000", "count", None, 5001, math.inf),
    ("> 5,000", "count", None, 5001, math.inf),
    (">2.5", "count", None, 3, math.inf),
    (">= 2.5", "count", None, 3, math.inf),
    ("<= 2", "count", None, 0, 2),
    ("< 3", "count", None, 0, 2),
    ("< 2.5", "count", None, 0, 2),
    ("== 0", "occurrence", None, 0, 0),
    ("= 4", "count", None, 4, 4),
    ("> 1", "amount", None, 1, math.inf),
    ("< 0.5", "amount", None, 0, 0.5),
    (">= 3", "signal", 5, 3, 5),
    ("== 5", "signal", 5, 5, 5),
])
def test_parse_condition(text, kind, signals, low, high):
    condition = parse_condition(text, kind, signals)
    assert (condition.low, condition.high) == (low, high)
    assert condition.text == text.strip()


@pytest.mark.parametrize(("text", "kind", "signals", "message"), [
    ("at least 1", "count", None, "'at least 1' is not a condition"),
    ("1", "count", None, "'1' is not a condition"),
    (">= 0", "count", None, "'>= 0' holds for every possible total"),
    ("<= 5", "signal", 5, "'<= 5' holds for every possible total"),
    ("< 0", "count", None, "'< 0' admits no possible total"),
    ("<= -1", "occurrence", None, "'<= -1' admits no possible total"),
    ("== 2.5", "count", None, "'== 2.5' admits no possible total"),
    ("> 5", "signal", 5, "'> 5' admits no possible total"),
    ("== 1", "amount", None, "'== 1': an amount is never exactly one number; use a bound"),
    ("< 0", "amount", None, "'< 0' admits no possible total"),
])
def test_parse_condition_refuses(text, kind, signals, message):
    with pytest.raises(ValueError) as caught:
        parse_condition(text, kind, signals)
    assert str(caught.value) == message


def test_cross_file_problems_all_at_once(bundled_case, tmp_path):
    path = write(tmp_path, """\
schema_version: 1
case: russia-iraq
questions:
  - id: q1
    text: A.
    indicator: sanctions_pressure
    window: {start: 2023-07-01, end: 2023-12-31}
    condition: ">= 0"
  - id: q1
    text: B.
    indicator: sanction_pressure
    window: {start: 2023-07-01, end: 2023-12-31}
    condition: ">= 1"
  - id: q3
    text: C.
    indicator: diplomatic_alignment
    window: {start: 2023-07-01, end: 2023-12-31}
    condition: ">= 1"
  - id: q4
    text: D.
    indicator: drone_supply
    signals: 4
    window: {start: 2023-07-01, end: 2023-12-31}
    condition: "> 100"
    resolution: yes
  - id: q5
    text: E.
    indicator: drone_supply
    window: {start: 2023-07-01, end: 2023-12-31}
    condition: "> 100"
    resolved_on: 2023-05-01
""")
    known = ", ".join(bundled_case.used_indicators)
    fix = ("Fix: write an operator and a number, e.g. '>= 1', '> 5000', '<= 2', '== 0'.")
    assert problems(bundled_case, path) == [
        f"{Q}:2: case: is 'russia-iraq' but the questions are for case 'russia-iran'. "
        "Fix: set 'case: russia-iran'.",
        f"{Q}:8: questions[0].condition: '>= 0' holds for every possible total. {fix}",
        f"{Q}:9: questions[1].id: duplicate question id 'q1' (first is questions[0]). "
        "Fix: give every question a unique id.",
        f"{Q}:11: questions[1].indicator: unknown indicator 'sanction_pressure'. "
        f"Fix: use one of: {known}.",
        f"{Q}:14: questions[2].signals: is required: diplomatic_alignment is a signal "
        "indicator. Fix: say how many signals the window holds, e.g. 'signals: 5'.",
        f"{Q}:22: questions[3].signals: applies only to signal indicators, not count. "
        "Fix: remove it.",
        f"{Q}:19: questions[3].resolved_on: is required once the question is resolved. "
        "Fix: give the date the outcome became known, YYYY-MM-DD.",
        f"{Q}:19: questions[3].source: is required once the question is resolved. "
        "Fix: name the publisher and date that settled it, in your own words.",
        f"{Q}:31: questions[4].resolved_on: is set but the question has no resolution. "
        "Fix: set 'resolution: yes' or 'no', or remove resolved_on.",
        f"{Q}:31: questions[4].resolved_on: 2023-05-01 is before the window starts "
        "(2023-07-01). Fix: correct the date or the window.",
    ]


def test_schema_problems_all_at_once(bundled_case, tmp_path):
    path = write(tmp_path, HEADER + """\
  - id: q1
    text: ""
    indicator: drone_supply
    window: {start: 2023-07-01, end: 2023-01-01}
    condition: ">= 1"
    resolution: maybe
    colour: red
  - id: bad id
    indicator: drone_supply
    window: {start: 2023-07-01, end: 2023-12-31}
    condition: ">= 1"
""")
    assert problems(bundled_case, path) == [
        f"{Q}:5: questions[0].text: String should have at least 1 character (got ''). "
        "Fix: correct the value (see docs/formats.md).",
        f"{Q}:7: questions[0].window: end 2023-01-01 is before start 2023-07-01. "
        "Fix: correct the value (see docs/formats.md).",
        f"{Q}:9: questions[0].resolution: Input should be 'yes' or 'no' (got 'maybe'). "
        "Fix: use one of the allowed values.",
        f"{Q}:10: questions[0].colour: Extra inputs are not permitted (got 'red'). "
        "Fix: remove it or correct its spelling (see docs/formats.md).",
        f"{Q}:11: questions[1].id: String should match pattern "
        "'^[A-Za-z0-9][A-Za-z0-9_.-]*$' (got 'bad id'). "
        "Fix: use lowercase letters, digits and underscores, starting with a letter.",
        f"{Q}:11: questions[1].text: Field required. Fix: add this field.",
    ]


def test_a_window_of_a_billion_signals_is_refused(bundled_case, tmp_path):
    path = write(tmp_path, HEADER + """\
  - id: q1
    text: A.
    indicator: diplomatic_alignment
    signals: 1000000000
    window: {start: 2023-07-01, end: 2023-12-31}
    condition: ">= 1"
""")
    assert problems(bundled_case, path) == [
        f"{Q}:7: questions[0].signals: Input should be less than or equal to 100000 "
        "(got 1000000000). Fix: use a value within the limit (see docs/formats.md).",
    ]


def test_file_level_problems(bundled_case, tmp_path):
    path = write(tmp_path, "case: russia-iran\nquestions: []\n")
    assert problems(bundled_case, path) == [
        f"{Q}:1: schema_version: must be 1 (missing). Fix: put 'schema_version: 1' at the top "
        "of the file.",
    ]
    path = write(tmp_path, HEADER + "  - !!python/object:os.system {}\n")
    assert problems(bundled_case, path) == [
        f"{Q}:4: YAML tag '!!python/object:os.system' is not allowed (case files are plain "
        "data). Fix: remove the tag and write the value out in full.",
    ]
    path = write(tmp_path, HEADER.replace("questions:\n", "questions: []\n"))
    assert problems(bundled_case, path) == [
        f"{Q}:3: questions: List should have at least 1 item after validation, not 0. "
        "Fix: add at least the minimum number of entries.",
    ]
    missing = tmp_path / "questions" / "nothing.yaml"
    assert problems(bundled_case, missing) == [
        "questions/nothing.yaml: file is missing. Fix: create it (see docs/formats.md, "
        "'questions') or pass --questions FILE."
    ]


def test_cli_exit_2_on_bad_questions(case_root):
    write(case_root, HEADER + GOOD.replace('">= 1"', '"at least one"'))
    result = CliRunner().invoke(main, ["backtest", "russia-iran", "--root", str(case_root),
                                       "--as-of", "2023-07-01"])
    assert result.exit_code == 2
    assert "error: 1 problem found:" in result.stderr
    assert ("questions[0].condition: 'at least one' is not a condition. Fix: write an operator "
            "and a number" in result.stderr)
    assert "Traceback" not in result.output


def test_cli_missing_questions_exit_2(case_root):
    result = CliRunner().invoke(main, ["backtest", "russia-iran", "--root", str(case_root)])
    assert result.exit_code == 2
    assert "questions/russia-iran.yaml: file is missing" in result.stderr


def test_good_minimal_file(bundled_case, tmp_path):
    path = write(tmp_path, HEADER + GOOD)
    qs = load_questions(bundled_case, path)
    assert [q.id for q in qs.questions] == ["q1"]
    assert not qs.questions[0].resolved and qs.questions[0].outcome is None
    assert qs.questions[0].window.months == pytest.approx(184 / (365.25 / 12))


def test_documented_example_validates(bundled_case, repo_root, tmp_path):
    text = (repo_root / "docs" / "formats.md").read_text(encoding="utf-8")
    section = text[text.index("## `questions/<case>.yaml`"):]
    block = section[section.index("```yaml\n") + 8:]
    block = block[: block.index("```")]
    qs = load_questions(bundled_case, write(tmp_path, block))
    assert [q.id for q in qs.questions] == ["adv_arms_2024", "alignment_statements"]
    assert qs.condition(qs.questions[1]).high == 5


@pytest.mark.parametrize("text", ["> 1e400", ">= 2e15"])
def test_a_condition_beyond_the_largest_total_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="beyond the largest total a value may state"):
        parse_condition(text, "count")
