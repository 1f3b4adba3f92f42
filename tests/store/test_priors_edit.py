"""Round-trip editing of the priors file: only changed values move, validated, backed up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.core.errors import CaseError
from toolkit.model.case import load_case
from toolkit.store.priors_edit import backup_path, edit_priors_text, format_number, save_priors

CASE = "russia-iran"


def _priors(root: Path) -> Path:
    return root / "priors" / f"{CASE}.yaml"


def _changed_lines(old: str, new: str) -> list[tuple[str, str]]:
    a, b = old.splitlines(), new.splitlines()
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_only_the_edited_values_change(repo_root):
    old = _priors(repo_root).read_text(encoding="utf-8")
    new, changes = edit_priors_text(
        old, weights={"defense_partnership": 0.3, "transactional": 0.5},
        expectations={("drone_supply", "drift"): {"low": 2, "high": 300, "per": "week"}})
    lines = _changed_lines(old, new)
    assert len(lines) == 2
    (w_old, w_new), (e_old, e_new) = lines
    assert w_old.split("#")[1] == w_new.split("#")[1]  # the comment survives ...
    assert w_old.index("#") == w_new.index("#")  # ... in the same column
    assert "weight: 0.3 " in w_new
    assert e_new.startswith("    drift:               {low: 2,   high: 300,  per: week, ")
    assert e_new.index("rationale") == e_old.index("rationale") - 1  # "month" -> "week"
    assert changes == ["scenarios.defense_partnership.weight: 0.25 -> 0.3",
                       "expectations.drone_supply.drift.low: 1 -> 2",
                       "expectations.drone_supply.drift.high: 250 -> 300",
                       "expectations.drone_supply.drift.per: month -> week"]


def test_edited_text_loads_with_the_new_values(case_root):
    old = _priors(case_root).read_text(encoding="utf-8")
    new, _ = edit_priors_text(
        old, weights={"drift": 1.5},
        expectations={("diplomatic_alignment", "transactional"): {"low": 0.6, "high": 0.95}})
    case = load_case(case_root, CASE, priors_text=new)
    assert [s.weight for s in case.priors.scenarios] == [0.25, 0.50, 1.5]
    exp = case.priors.expectations["diplomatic_alignment"]["transactional"]
    assert (exp.low, exp.high) == (0.6, 0.95)
    assert _priors(case_root).read_text(encoding="utf-8") == old  # validation wrote nothing
    comments = [line for line in old.splitlines() if line.lstrip().startswith("#")]
    assert comments == [line for line in new.splitlines() if line.lstrip().startswith("#")]
    keys = [line.split(":")[0] for line in old.splitlines()]
    assert keys == [line.split(":")[0] for line in new.splitlines()]


BLOCK = """schema_version: 1
expectations:
  count_thing:
    a:
      low: 1      # lowest
      high: 5
      rationale: "r"
    b: {low: 1, high: 9, rationale: "r"}   # flow style
    c: {gamma: {alpha: 2, beta: 1}, rationale: "r"}
scenarios:
  - id: a
    weight: 1
  - id: b
    weight: 2
"""


def test_missing_keys_are_inserted_beside_their_siblings():
    new, changes = edit_priors_text(BLOCK, expectations={
        ("count_thing", "a"): {"per": "year", "low": 2},
        ("count_thing", "b"): {"per": "quarter"}})
    assert "      low: 2      # lowest\n      high: 5\n      rationale: \"r\"\n      per: year\n" \
        in new
    assert '    b: {low: 1, high: 9, rationale: "r", per: quarter}   # flow style\n' in new
    assert len(changes) == 3


@pytest.mark.parametrize(("edit", "message"), [
    ({"weights": {"zz": 1.0}}, "no scenario 'zz'"),
    ({"weights": {"a": -1.0}}, "weight -1 is negative"),
    ({"weights": {"a": float("nan")}}, "is not a finite number"),
    ({"expectations": {("count_thing", "c"): {"low": 1}}}, "given as a distribution"),
    ({"expectations": {("count_thing", "z"): {"low": 1}}}, "no such expectation"),
    ({"expectations": {("nothing", "a"): {"low": 1}}}, "no such expectation"),
    ({"expectations": {("count_thing", "a"): {"per": "fortnight"}}}, "is not a period"),
    ({"expectations": {("count_thing", "a"): {"rationale": "x"}}}, "cannot edit 'rationale'"),
])
def test_impossible_edits_are_reported_with_their_line(edit, message):
    with pytest.raises(CaseError) as info:
        edit_priors_text(BLOCK, shown="priors/x.yaml", **edit)
    (problem,) = info.value.problems
    assert message in problem.message
    assert problem.file == "priors/x.yaml" and problem.line is not None


def test_save_validates_backs_up_and_writes(case_root):
    path = _priors(case_root)
    old = path.read_bytes()
    saved = save_priors(case_root, CASE, weights={"drift": 0.4},
                        expectations={("financing", "drift"): {"high": 2.0}})
    assert saved.backup is not None and saved.backup.read_bytes() == old
    assert saved.backup.name.startswith(f"{CASE}.yaml.") and saved.backup.suffix == ".bak"
    case = load_case(case_root, CASE)
    assert case.priors.scenarios[2].weight == 0.4
    assert case.priors.expectations["financing"]["drift"].high == 2.0
    assert len(saved.changes) == 2
    again = save_priors(case_root, CASE, weights={"drift": 0.4})
    assert again.changes == [] and again.backup is None
    assert sorted(p.name for p in (case_root / "priors").iterdir()) == sorted(
        [path.name, saved.backup.name])


@pytest.mark.parametrize("edit", [
    {"weights": {"defense_partnership": 0, "transactional": 0, "drift": 0}},
    {"expectations": {("drone_supply", "drift"): {"low": 0}}},
    {"expectations": {("drone_supply", "drift"): {"low": 500, "high": 100}}},
    {"expectations": {("diplomatic_alignment", "drift"): {"high": 1.5}}},
])
def test_save_refuses_an_invalid_result_and_leaves_the_file(case_root, edit):
    path = _priors(case_root)
    old = path.read_bytes()
    with pytest.raises(CaseError) as info:
        save_priors(case_root, CASE, **edit)
    assert all(p.file == f"priors/{CASE}.yaml" for p in info.value.problems)
    assert path.read_bytes() == old
    assert list((case_root / "priors").iterdir()) == [path]


def test_backup_names_never_collide(tmp_path):
    target = tmp_path / "x.yaml"
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    first = backup_path(target, now)
    first.write_text("a")
    second = backup_path(target, now)
    assert first.name == "x.yaml.20260102T030405Z.bak"
    assert second.name == "x.yaml.20260102T030405Z-1.bak"


@pytest.mark.parametrize(("value", "text"), [
    (300.0, "300"), (0.26, "0.26"), (0.005, "0.005"), (5e6, "5000000"), (1e-7, "0.0000001"),
    (0.1 + 0.2, "0.3"), (2.5e-12, "0.0000000000025"),
])
def test_format_number(value, text):
    assert format_number(value) == text


@settings(max_examples=12, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=3,
                max_size=3).filter(lambda ws: sum(ws) > 0))
def test_weights_round_trip(repo_root, weights):
    old = _priors(repo_root).read_text(encoding="utf-8")
    ids = ["defense_partnership", "transactional", "drift"]
    new, _ = edit_priors_text(old, weights=dict(zip(ids, weights, strict=True)))
    assert len(_changed_lines(old, new)) <= 3
    case = load_case(repo_root, CASE, priors_text=new)
    for scenario, wanted in zip(case.priors.scenarios, weights, strict=True):
        assert scenario.weight == pytest.approx(wanted, rel=1e-9, abs=1e-12)


def test_a_weight_of_1e308_is_refused_and_the_file_is_untouched(case_root: Path) -> None:
    priors = case_root / "priors" / f"{CASE}.yaml"
    before = priors.read_bytes()
    with pytest.raises(CaseError) as caught:
        save_priors(case_root, CASE, weights={"drift": 1e308})
    assert "less than or equal to 1000000000" in str(caught.value.problems[0])
    assert priors.read_bytes() == before


def test_a_save_keeps_the_files_byte_order_mark(case_root: Path) -> None:
    path = _priors(case_root)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    before = path.read_bytes()
    save_priors(case_root, CASE, weights={"drift": 0.4})
    after = path.read_bytes()
    assert after.startswith(b"\xef\xbb\xbf") and not after.startswith(b"\xef\xbb\xbf" * 2)
    assert len(_changed_lines(before.decode("utf-8"), after.decode("utf-8"))) == 1
    assert load_case(case_root, CASE).priors.scenarios[2].weight == 0.4
