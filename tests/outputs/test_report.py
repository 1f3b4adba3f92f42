"""Exports: stable names, the run manifest, refusing to overwrite another run, the CLI."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json

import pytest
from click.testing import CliRunner

from toolkit.core.errors import CaseError
from toolkit.model.case import load_case
from toolkit.outputs import report
from toolkit.outputs.briefing import build_briefing, evidence_csv, spreadsheet_safe
from toolkit.outputs.forecast import run_forecast
from toolkit.outputs.manifest import fingerprint, manifest_path
from toolkit.outputs.report import (
    CHARTS,
    ChartSpec,
    chart_path,
    export_charts,
    export_report,
)
from toolkit.ui.cli import main

AS_OF = dt.date(2025, 6, 30)
STEM = f"russia-iran-{AS_OF.isoformat()}"


@pytest.fixture(scope="module")
def forecast(bundled_case):
    return run_forecast(bundled_case, as_of=AS_OF)


@pytest.fixture(scope="module")
def exported(forecast, bundled_case, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    return out, export_report(forecast, out, ["png", "svg", "csv"], bundled_case)




@pytest.fixture
def one_chart(monkeypatch):
    """The overwrite rules do not depend on which charts are drawn: draw one, fast."""
    monkeypatch.setattr(report, "CHARTS", {"probabilities": CHARTS["probabilities"]})


def test_files_have_stable_names(exported):
    out, written = exported
    charts = [*CHARTS, "calibration", "questions", "sensitivity"]  # it has questions
    expected = {f"{STEM}-{name}.{ext}" for name in charts for ext in ("png", "svg")}
    expected |= {f"{STEM}-evidence.csv", f"{STEM}-manifest.json"}
    assert {p.name for p in written} == expected
    assert {p.name for p in out.iterdir()} == expected  # no temporary files left
    assert written[-1].name == f"{STEM}-manifest.json"
    assert (out / f"{STEM}-trail.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / f"{STEM}-trail.svg").read_text().lstrip().startswith("<?xml")


def test_manifest_records_the_run_and_file_hashes(exported, forecast, bundled_case):
    out, written = exported
    manifest = json.loads(manifest_path(out, forecast).read_text())
    questions = hashlib.sha256(bundled_case.paths.questions.read_bytes()).hexdigest()
    assert manifest["fingerprint"] == fingerprint(forecast, {"questions": questions})
    assert manifest["fingerprint"]["inputs"] == {**forecast.input_hashes, "questions": questions}
    assert manifest["fingerprint"]["seed"] == forecast.seed
    assert set(manifest["files"]) == {p.name for p in written[:-1]}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_same_run_overwrites_and_keeps_earlier_files(forecast, tmp_path, one_chart):
    first = export_charts(forecast, tmp_path, ["png"])
    second = export_charts(forecast, tmp_path, ["png"])  # same run: no error
    assert [p.name for p in first] == [p.name for p in second]
    manifest = json.loads(manifest_path(tmp_path, forecast).read_text())
    assert set(manifest["files"]) == {p.name for p in first[:-1]}


def test_another_run_is_refused_and_nothing_is_touched(forecast, tmp_path, one_chart):
    written = export_charts(forecast, tmp_path, ["png"])
    before = {p.name: p.read_bytes() for p in written}
    other = dataclasses.replace(forecast, seed=forecast.seed + 1)
    with pytest.raises(CaseError) as raised:
        export_charts(other, tmp_path, ["png"])
    message = str(raised.value)
    assert f"{STEM}-probabilities.png" in message and "--force" in message
    assert "seed" in message
    assert {p.name: p.read_bytes() for p in written} == before
    weights = dataclasses.replace(forecast, prior=forecast.prior[[1, 0, 2]].copy())
    with pytest.raises(CaseError, match="different prior weights"):
        export_charts(weights, tmp_path, ["png"])
    export_charts(other, tmp_path, ["png"], force=True)
    assert json.loads(manifest_path(tmp_path, forecast).read_text())["fingerprint"]["seed"] \
        == forecast.seed + 1


def test_other_formats_of_another_run_are_refused_too(forecast, tmp_path, one_chart):
    export_charts(forecast, tmp_path, ["png"])
    other = dataclasses.replace(forecast, engine="pymc")
    with pytest.raises(CaseError, match="engine exact -> pymc"):
        export_charts(other, tmp_path, ["svg"])  # would mix runs under one name stem


def test_files_of_unknown_origin_are_refused(forecast, tmp_path, one_chart):
    foreign = chart_path(tmp_path, forecast, "probabilities", "png")
    foreign.write_bytes(b"someone else's chart")
    with pytest.raises(CaseError, match="no manifest"):
        export_charts(forecast, tmp_path, ["png"])
    assert foreign.read_bytes() == b"someone else's chart"
    manifest_path(tmp_path, forecast).write_text("{not json")
    with pytest.raises(CaseError):
        export_charts(forecast, tmp_path, ["png"])


def test_case_charts_need_the_case(forecast, bundled_case, tmp_path, monkeypatch):
    needs_case = ChartSpec(lambda f, case: CHARTS["probabilities"](f), "test", needs_case=True)
    monkeypatch.setattr(report, "CHARTS", {"probabilities": CHARTS["probabilities"],
                                           "predictions": needs_case})
    names = {p.name for p in export_charts(forecast, tmp_path / "a", ["png"])}
    assert f"{STEM}-predictions.png" not in names
    names = {p.name for p in export_charts(forecast, tmp_path / "b", ["png"], bundled_case)}
    assert f"{STEM}-predictions.png" in names
    with pytest.raises(ValueError):
        export_charts(forecast, tmp_path, ["html"])
    with pytest.raises(ValueError):
        export_report(forecast, tmp_path, ["html"])


def test_spreadsheet_safe_quotes_formulas_only():
    assert spreadsheet_safe("=1+1") == "'=1+1"
    assert spreadsheet_safe("+SUM(A1)") == "'+SUM(A1)"
    assert spreadsheet_safe("-2+3") == "'-2+3"
    assert spreadsheet_safe("@cmd") == "'@cmd"
    assert spreadsheet_safe("plain text") == "plain text"
    assert spreadsheet_safe(-0.5) == -0.5  # numbers stay numbers


def test_evidence_csv_quotes_formula_cells(case_root):
    path = case_root / "evidence" / "russia-iran.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    header = rows[0]
    rows[1][header.index("note")] = '=HYPERLINK("x","click")'
    rows[2][header.index("note")] = "@SUM(1)"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    case = load_case(case_root, "russia-iran")
    forecast = run_forecast(case, as_of=AS_OF)
    table = list(csv.DictReader(io.StringIO(evidence_csv(build_briefing(forecast, case)))))
    notes = {row["id"]: row["note"] for row in table}
    assert notes[rows[1][0]] == '\'=HYPERLINK("x","click")'
    assert notes[rows[2][0]] == "'@SUM(1)"
    assert [row["id"] for row in table] == forecast.item_ids
    first = forecast.attribution[0]
    for k, sid in enumerate(forecast.scenario_ids):
        assert float(table[0][f"log_bf_{sid}"]) == pytest.approx(first[k], abs=1e-6)


def test_cli_writes_and_refuses_another_run(case_root, tmp_path, one_chart):
    runner = CliRunner()
    out = tmp_path / "out"
    args = ["report", "russia-iran", "--root", str(case_root), "--out", str(out),
            "--as-of", AS_OF.isoformat(), "--format", "png"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "likely" in result.output
    assert (out / f"{STEM}-probabilities.png").exists()
    refused = runner.invoke(main, [*args, "--seed", "7"])
    assert refused.exit_code == 2
    assert "--force" in refused.output and f"{STEM}-probabilities.png" in refused.output
    assert runner.invoke(main, [*args, "--seed", "7", "--force"]).exit_code == 0
    assert (out / f"{STEM}-sensitivity.png").exists()


def test_cli_no_sensitivity_leaves_out_the_tornado_and_its_section(case_root, tmp_path,
                                                                   monkeypatch):
    import toolkit.outputs.sensitivity as module

    monkeypatch.setattr(module, "sensitivity", lambda *a, **k: pytest.fail("ran sensitivity"))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["report", "russia-iran", "--root", str(case_root),
                                       "--out", str(out), "--as-of", AS_OF.isoformat(),
                                       "--format", "svg,html", "--no-sensitivity"])
    assert result.exit_code == 0, result.output
    assert not list(out.glob("*sensitivity*")) and (out / f"{STEM}-trail.svg").exists()
    page = (out / f"{STEM}-briefing.html").read_text(encoding="utf-8")
    assert "What to watch next" in page and "What would change the forecast" not in page


def test_cli_rejects_unknown_formats(case_root, tmp_path):
    result = CliRunner().invoke(main, ["report", "russia-iran", "--root", str(case_root),
                                       "--out", str(tmp_path), "--format", "png,docx"])
    assert result.exit_code == 2
    assert "docx" in result.output


@pytest.mark.parametrize("kind", ["device", "file"])
def test_an_out_that_is_not_a_folder_exits_2_before_any_work(case_root, tmp_path, kind):
    from pathlib import Path

    out = Path("/dev/null") if kind == "device" else tmp_path / "a-file"
    if kind == "file":
        out.write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", "russia-iran", "--root", str(case_root),
                                       "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "--out" in result.output and "Traceback" not in result.output
    assert ("exists and is not a folder" if kind == "device" else "is a file") in result.output
    assert not (case_root / "runs").exists()
    if kind == "file":
        assert out.read_text(encoding="utf-8") == "keep me"


def test_cli_report_saves_its_run_and_reads_out_relative_to_the_root(case_root, tmp_path,
                                                                     one_chart, monkeypatch):
    import json

    from toolkit.store.runs import list_runs

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    args = ["report", "russia-iran", "--root", str(case_root), "--out", "rel", "--as-of",
            AS_OF.isoformat(), "--format", "png", "--no-sensitivity"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (case_root / "rel" / f"{STEM}-probabilities.png").exists()
    assert not (elsewhere / "rel").exists()
    runs = list_runs(case_root, "russia-iran")
    assert len(runs) == 1 and f"Saved run {runs[0]}" in result.output
    manifest = json.loads((case_root / "rel" / f"{STEM}-manifest.json").read_text())
    assert manifest["run_id"] == runs[0]
    unsaved = CliRunner().invoke(main, [*args, "--no-save", "--out", "rel2"])
    assert unsaved.exit_code == 0, unsaved.output
    assert list_runs(case_root, "russia-iran") == runs
    assert json.loads((case_root / "rel2" / f"{STEM}-manifest.json").read_text())[
        "run_id"] is None
    refused = CliRunner().invoke(main, [*args, "--seed", "5"])  # another run: nothing saved
    assert refused.exit_code == 2 and list_runs(case_root, "russia-iran") == runs
