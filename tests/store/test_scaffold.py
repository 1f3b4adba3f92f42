"""``scenarios new``: scaffolded cases validate, forecast, teach the format, never overwrite."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.core.errors import CaseError
from toolkit.model.case import load_case
from toolkit.outputs.forecast import run_forecast
from toolkit.store.scaffold import scaffold_case
from toolkit.ui.cli import main

FILES = ["priors/china-iran.yaml", "evidence/china-iran.csv",
         "seeds/china-iran/example-source.yaml"]


def files_of(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_new_case_validates_and_forecasts(tmp_path: Path) -> None:
    root = tmp_path / "work"
    runner = CliRunner()
    result = runner.invoke(main, ["new", "china-iran", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert files_of(root) == sorted(FILES)
    for name in FILES:
        assert f"wrote {root / name}" in result.stdout
    case = load_case(root, "china-iran")
    assert case.priors.schema_version == 1
    assert len(case.priors.scenarios) >= 2
    forecast = run_forecast(case)
    assert forecast.probabilities.sum() == pytest.approx(1.0)
    assert forecast.item_ids == ["E01"]
    out = runner.invoke(main, ["forecast", "china-iran", "--json", "--root", str(root)])
    assert out.exit_code == 0
    assert json.loads(out.stdout)["case"] == "china-iran"
    listed = runner.invoke(main, ["cases", "--root", str(root)])
    assert listed.stdout.split() == ["china-iran"]
    added = runner.invoke(main, [
        "evidence", "add", "china-iran", "--root", str(root), "--id", "E02",
        "--reported-on", dt.date.today().isoformat(), "--period-start", "2024-01-01",
        "--period-end", "2024-12-31", "--indicator", "defense_commitment", "--value", "no",
        "--unit", "events", "--source", "S01", "--reliability", "B2"])
    assert added.exit_code == 0, added.output


def test_templates_teach_the_format(tmp_path: Path) -> None:
    scaffold_case(tmp_path, "china-iran", today=dt.date(2025, 3, 14))
    priors = (tmp_path / FILES[0]).read_text(encoding="utf-8")
    assert priors.splitlines()[0].startswith("# ")
    assert sum(line.lstrip().startswith("#") for line in priors.splitlines()) >= 5
    assert "docs/formats.md" in priors and "rationale" in priors
    assert "schema_version: 1" in priors and "horizon: 2026-12-31" in priors
    evidence = (tmp_path / FILES[1]).read_text(encoding="utf-8")
    assert evidence.splitlines()[1].startswith("E01,2025-03-14,2025-03-01,2025-03-14,")
    seed = (tmp_path / FILES[2]).read_text(encoding="utf-8")
    assert seed.startswith("# ") and "schema_version: 1" in seed


def test_existing_case_is_never_overwritten(case_root: Path) -> None:
    before = {name: (case_root / name).read_bytes() for name in files_of(case_root)}
    result = CliRunner().invoke(main, ["new", "russia-iran", "--root", str(case_root)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        "  priors/russia-iran.yaml: already exists. Fix: choose another case name or remove "
        "the file.",
        "  evidence/russia-iran.csv: already exists. Fix: choose another case name or remove "
        "the file.",
    ]
    assert {name: (case_root / name).read_bytes() for name in files_of(case_root)} == before


def test_partial_leftovers_block_the_whole_scaffold(tmp_path: Path) -> None:
    scaffold_case(tmp_path, "china-iran")
    (tmp_path / FILES[0]).unlink()
    (tmp_path / FILES[2]).write_text("mine", encoding="utf-8")
    with pytest.raises(CaseError) as caught:
        scaffold_case(tmp_path, "china-iran")
    assert [p.file for p in caught.value.problems] == [FILES[1], FILES[2]]
    assert not (tmp_path / FILES[0]).exists()
    assert (tmp_path / FILES[2]).read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("name", ["China-Iran", "x", "1abc", "china_iran", "../evil"])
def test_invalid_names_are_refused(tmp_path: Path, name: str) -> None:
    result = CliRunner().invoke(main, ["new", name, "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a valid case name" in result.stderr
    assert files_of(tmp_path) == []


def test_the_commented_path_example_is_valid_once_uncommented(tmp_path: Path) -> None:
    scaffold_case(tmp_path, "china-iran", today=dt.date(2025, 3, 14))
    priors = tmp_path / FILES[0]
    lines = priors.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if "# decline: {path:" in line)
    constant = next(i for i in range(start) if lines[i].lstrip().startswith("decline:"))
    example = [lines[start], lines[start + 1]]
    lines[constant] = "    " + " ".join(line.strip().removeprefix("# ") for line in example)
    del lines[start: start + 2]
    priors.write_text("\n".join(lines) + "\n", encoding="utf-8")
    case = load_case(tmp_path, "china-iran")
    drift = case.drift("joint_statements", "decline")
    assert drift is not None and drift.path and not drift.wanders
    assert run_forecast(case).probabilities.sum() == pytest.approx(1.0)


def test_the_commented_wander_and_walk_are_valid_once_uncommented(tmp_path: Path) -> None:
    scaffold_case(tmp_path, "china-iran", today=dt.date(2025, 3, 14))
    priors = tmp_path / FILES[0]
    text = priors.read_text(encoding="utf-8")
    assert "# wander: 2\n" in text and "# walk: 1.3\n" in text
    priors.write_text(text.replace("# wander: 2\n", "wander: 2\n").replace(
        "# walk: 1.3\n", "walk: 1.3\n"), encoding="utf-8")
    case = load_case(tmp_path, "china-iran")
    drift = case.drift("joint_statements", "decline")
    assert drift is not None and drift.wanders and drift.walk > 0
