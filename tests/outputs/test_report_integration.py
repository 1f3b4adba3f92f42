"""Reports with the case's questions, the watch list and the dynamic model's timeline."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from toolkit.core.errors import CaseError
from toolkit.model.case import load_case
from toolkit.model.questions import load_questions
from toolkit.outputs import report
from toolkit.outputs.backtest import backtest
from toolkit.outputs.forecast import run_forecast
from toolkit.outputs.language import percent
from toolkit.outputs.report import export_report
from toolkit.outputs.watch import watch
from toolkit.ui.cli import main

CASE = "russia-iran"
AS_OF = dt.date(2023, 7, 1)  # every question resolves after it: all of them are scored
LATER = dt.date(2024, 3, 31)  # some questions resolved by then, the rest after
ATTACK = "<script>alert(1)</script>"


@pytest.fixture
def questions_root(case_root: Path, repo_root: Path) -> Path:
    """The scratch case with the bundled questions file."""
    (case_root / "questions").mkdir()
    shutil.copy(repo_root / "questions" / f"{CASE}.yaml", case_root / "questions")
    return case_root


@pytest.fixture
def one_chart(monkeypatch):
    """The forecast charts are tested elsewhere: draw one of them, fast."""
    monkeypatch.setattr(report, "CHARTS", {"probabilities": report.CHARTS["probabilities"]})


def _stem(as_of: dt.date) -> str:
    return f"{CASE}-{as_of.isoformat()}"


def _attack(root: Path) -> None:
    """Put markup into an indicator label and a question text."""
    priors = root / "priors" / f"{CASE}.yaml"
    priors.write_text(priors.read_text(encoding="utf-8").replace(
        "label: Covert Caspian shipping", f"label: 'Covert {ATTACK} & shipping'"),
        encoding="utf-8")
    questions = root / "questions" / f"{CASE}.yaml"
    text = questions.read_text(encoding="utf-8")
    assert "will Russia and Iran sign a treaty" in text
    questions.write_text(text.replace("will Russia and Iran sign a treaty",
                                      f"will {ATTACK} Russia & Iran sign a treaty"),
                         encoding="utf-8")


def test_report_with_questions_writes_their_charts_and_sections(questions_root, tmp_path):
    _attack(questions_root)
    case = load_case(questions_root, CASE)
    forecast = run_forecast(case, as_of=LATER)
    written = export_report(forecast, tmp_path, ["svg", "html", "pdf"], case)
    names = {p.name for p in written}
    stem = _stem(LATER)
    for chart in ("calibration", "questions"):
        for ext in ("svg", "pdf"):
            assert f"{stem}-{chart}.{ext}" in names
            assert (tmp_path / f"{stem}-{chart}.{ext}").stat().st_size > 1000
    manifest = json.loads((tmp_path / f"{stem}-manifest.json").read_text(encoding="utf-8"))
    assert f"{stem}-calibration.svg" in manifest["files"]
    assert f"{stem}-questions.svg" in manifest["files"]
    # the question-paths chart has one line per question
    paths_svg = (tmp_path / f"{stem}-questions.svg").read_text(encoding="utf-8")
    questions = load_questions(case)
    assert len(re.findall(r'id="path-\d+"', paths_svg)) == len(questions.questions)

    page = (tmp_path / f"{stem}-briefing.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    # Questions: each one with the backtest's probability, resolution and score
    expected = backtest(case, questions, LATER)
    assert expected.summary["scored"] > 0
    section = page[page.index('<h2 id="questions">'):page.index("<h2>Charts</h2>")]
    assert f"{expected.summary['scored']} of {len(questions.questions)} questions" in section
    for r in expected.results:
        row = re.search(rf'<tr data-question="{re.escape(r.question.id)}">(.*?)</tr>', section)
        assert row, r.question.id
        assert f'<td class="num">{html.escape(percent(r.probability))}</td>' in row.group(1)
        assert f"<td>{r.question.resolution or 'open'}" in row.group(1)
        scores = r.scores()
        if scores:
            assert f"Brier {scores['brier']:.3f}, log {scores['log']:.3f}" in row.group(1)
        else:
            assert "not scored" in row.group(1)
    assert html.escape(f"will {ATTACK} Russia & Iran") in section
    # What to watch next: the top five of toolkit.outputs.watch, in order, with their bits
    _, entries = watch(case, as_of=LATER)
    listed = re.findall(r'<li data-indicator="([^"]+)" data-bits="([0-9.]+)">([^<]*)</li>', page)
    assert [i for i, _, _ in listed] == [e.indicator for e in entries[:5]]
    np.testing.assert_allclose([float(b) for _, b, _ in listed],
                               [e.reduction_bits for e in entries[:5]], atol=1e-6)
    for (_, _, text), e in zip(listed, entries, strict=False):
        assert f"{e.reduction_bits:.3f} bits" in text
    if "covert_caspian_shipping" in [e.indicator for e in entries[:5]]:
        assert html.escape(f"Covert {ATTACK} & shipping") in page
    # the PDF says the same, as plain text
    pdf = "\n".join(p.extract_text() for p in
                    PdfReader(tmp_path / f"{stem}-briefing.pdf").pages)
    assert "What to watch next" in pdf and "Questions" in pdf
    assert f"{entries[0].reduction_bits:.3f} bits" in pdf


def test_scored_questions_show_their_scores(questions_root, tmp_path, one_chart):
    case = load_case(questions_root, CASE)
    forecast = run_forecast(case, as_of=AS_OF)
    export_report(forecast, tmp_path, ["html"], case)
    page = (tmp_path / f"{_stem(AS_OF)}-briefing.html").read_text(encoding="utf-8")
    expected = backtest(case, load_questions(case), AS_OF)
    scored = expected.scored
    assert scored
    for r in scored:
        assert f"Brier {r.scores()['brier']:.3f}" in page
    assert f"mean Brier {expected.summary['mean_brier']:.3f}" in page


def test_report_without_questions_file_still_lists_what_to_watch(case_root, tmp_path,
                                                                  one_chart):
    case = load_case(case_root, CASE)
    assert not case.paths.questions.exists()
    forecast = run_forecast(case, as_of=LATER)
    written = export_report(forecast, tmp_path, ["svg", "html"], case)
    names = {p.name for p in written}
    assert not any("calibration" in n or "questions" in n for n in names)
    page = (tmp_path / f"{_stem(LATER)}-briefing.html").read_text(encoding="utf-8")
    assert 'id="questions"' not in page
    assert '<h2 id="watch">What to watch next</h2>' in page
    assert page.count("<li data-indicator=") == min(5, len(case.used_indicators))


def _fake_dynamic(case, as_of: dt.date):
    """A tiny dynamic result with known numbers (no sampling)."""
    from toolkit.outputs.dynamic_forecast import Band, DynamicForecast

    months = ["2023-05", "2023-06", "2023-07", "2023-08"]
    k = len(case.priors.scenario_ids)
    mean = np.array([[0.2, 0.5, 0.3], [0.3, 0.5, 0.2], [0.25, 0.6, 0.15], [0.1, 0.7, 0.2]])
    band = Band(mean, np.clip(mean - 0.1, 0, 1), np.clip(mean + 0.1, 0, 1))
    reach = Band(np.array([0.0, 0.0, 0.25, 0.4]), np.zeros(4), np.array([0.0, 0.0, 0.5, 0.7]))
    return DynamicForecast(
        case=case.name, title=case.priors.title, question=case.priors.question,
        horizon=dt.date(2023, 8, 31), as_of=as_of, seed=1, scenario_ids=case.priors.scenario_ids,
        labels=[s.label for s in case.priors.scenarios], prior=np.full(k, 1 / k),
        months=months, as_of_row=2, filtered=band, smoothed=band, reach_by_month=reach,
        interval_level=0.9, target=0, static_probabilities=mean[-1], transition_prior=None,
        transition_mean=np.eye(k), duration_median=np.ones(k), items=[],
        items_by_row=[["E01"], [], ["E02"], []], excluded={},
        diagnostics={"converged": True})


def test_report_dynamic_flag_adds_the_timeline(questions_root, tmp_path, monkeypatch,
                                                one_chart):
    calls = []

    def fake(case, as_of, seed):
        calls.append((case.name, as_of, seed))
        return _fake_dynamic(case, as_of)

    monkeypatch.setattr("toolkit.ui.cli.report.run_dynamic_model", fake)
    out = tmp_path / "out"
    args = ["report", CASE, "--root", str(questions_root), "--out", str(out), "--format",
            "svg,html", "--as-of", AS_OF.isoformat()]
    plain = CliRunner().invoke(main, args)
    assert plain.exit_code == 0, plain.output
    assert calls == [] and not (out / f"{_stem(AS_OF)}-timeline.svg").exists()
    result = CliRunner().invoke(main, [*args, "--dynamic"])
    assert result.exit_code == 0, result.output
    assert calls == [(CASE, AS_OF, None)]
    stem = _stem(AS_OF)
    svg = (out / f"{stem}-timeline.svg").read_text(encoding="utf-8")
    for sid in load_case(questions_root, CASE).priors.scenario_ids:
        assert f'id="timeline-{sid}"' in svg
    manifest = json.loads((out / f"{stem}-manifest.json").read_text(encoding="utf-8"))
    assert f"{stem}-timeline.svg" in manifest["files"]
    page = (out / f"{stem}-briefing.html").read_text(encoding="utf-8")
    assert 'id="chart-timeline"' in page
    line = re.search(r'<p class="dynamic">(.*?)</p>', page).group(1)
    assert "horizon month 2023-08" in line
    assert "70% (60% to 80%)" in line and "20% (10% to 30%)" in line
    assert f"{stem}-timeline.svg" in result.output


def test_an_edited_questions_file_makes_a_different_report(questions_root, tmp_path, one_chart):
    """The question charts and section read the questions file: it is part of the run."""
    case = load_case(questions_root, CASE)
    forecast = run_forecast(case, as_of=LATER)
    export_report(forecast, tmp_path, ["svg"], case)
    export_report(forecast, tmp_path, ["svg"], case)  # the same run may overwrite
    questions = questions_root / "questions" / f"{CASE}.yaml"
    questions.write_text(questions.read_text(encoding="utf-8") + "\n# edited\n",
                         encoding="utf-8")
    with pytest.raises(CaseError, match="different case files"):
        export_report(forecast, tmp_path, ["svg"], case)
    written = export_report(forecast, tmp_path, ["svg"], case, force=True)
    manifest = json.loads(written[-1].read_text(encoding="utf-8"))
    assert manifest["fingerprint"]["inputs"]["questions"] == hashlib.sha256(
        questions.read_bytes()).hexdigest()
