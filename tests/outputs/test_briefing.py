"""The briefing: headline, drivers, evidence with sources, diagnostics, manifest; HTML and PDF."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re

import numpy as np
import pytest
from pypdf import PdfReader

from toolkit.model.case import load_case
from toolkit.outputs.briefing import (
    ChartEmbed,
    build_briefing,
    driver_sentences,
    render_html,
    write_briefing_pdf,
)
from toolkit.outputs.briefing.pdf import back_pages, front_pages, text_width, wrap_measured
from toolkit.outputs.briefing.sections import (
    compute_questions,
    compute_sensitivity,
    compute_watch,
)
from toolkit.outputs.charts import inline_svg, probability_chart
from toolkit.outputs.forecast import run_forecast
from toolkit.outputs.language import figure, percent
from toolkit.outputs.report import CHARTS, export_report, extra_charts
from toolkit.outputs.sensitivity import sensitivity

AS_OF = dt.date(2025, 6, 30)
STEM = f"russia-iran-{AS_OF.isoformat()}"
ATTACK = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def forecast(bundled_case):
    return run_forecast(bundled_case, as_of=AS_OF)


@pytest.fixture(scope="module")
def briefing_files(forecast, bundled_case, tmp_path_factory):
    out = tmp_path_factory.mktemp("briefing")
    written = export_report(forecast, out, ["pdf", "html"], bundled_case)
    return out, written


@pytest.fixture(scope="module")
def page(briefing_files):
    out, _ = briefing_files
    return (out / f"{STEM}-briefing.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pdf_text(briefing_files):
    out, _ = briefing_files
    reader = PdfReader(out / f"{STEM}-briefing.pdf")
    return reader, [p.extract_text() for p in reader.pages]


def test_pdf_format_writes_briefing_and_chart_pdfs(briefing_files):
    out, written = briefing_files
    names = {p.name for p in written}
    assert {f"{STEM}-{name}.pdf" for name in CHARTS} <= names
    assert {f"{STEM}-briefing.pdf", f"{STEM}-briefing.html", f"{STEM}-manifest.json"} <= names
    assert not any(n.endswith(".png") or n.endswith(".svg") for n in names)


def test_briefing_content(forecast, bundled_case):
    content = build_briefing(forecast, bundled_case)
    assert content.headline == forecast.headline()
    assert [row.id for row in content.evidence] == forecast.item_ids
    e08 = next(row for row in content.evidence if row.id == "E08")
    assert e08.claim_id == "G07" and "300,000 artillery shells" in e08.claim_summary
    assert e08.reliability_text == "B2" and e08.source_publisher == "GorStra"
    assert dict(content.manifest)["seed"] == str(forecast.seed)
    for name, digest in forecast.input_hashes.items():
        assert dict(content.manifest)[f"sha256 {name}"] == digest
    assert content.warnings == []


def test_driver_sentences_carry_the_numbers(forecast, bundled_case):
    sentences = driver_sentences(forecast, bundled_case)
    moves = forecast.drivers()
    assert len(sentences) == len(moves) > 0
    for sentence, move in zip(sentences, moves, strict=True):
        verb = "rose" if move["change"] > 0 else "fell"
        assert f"{verb} from {percent(move['from'])} to {percent(move['to'])} after " \
               f"{move['item']}" in sentence
        assert f"likelihood ratio {move['likelihood_ratio']:.2g}" in sentence


def test_html_is_self_contained(page, bundled_case):
    assert page.count("<svg ") == len(CHARTS) + len(extra_charts(bundled_case))
    assert not re.search(r"https?://", page)
    assert "<script" not in page.lower()
    assert not re.search(r"\b(src|href)\s*=\s*[\"'](?!#)", page)  # only in-page references
    assert "<link" not in page and "@import" not in page
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "element ids must be unique across the inline charts"


def test_html_says_what_the_briefing_says(page, forecast, bundled_case):
    assert html.escape(forecast.headline()) in page
    for sentence in driver_sentences(forecast, bundled_case):
        assert html.escape(sentence) in page
    for item in forecast.items:
        assert f"<strong>{item.id}</strong>" in page
        assert html.escape(item.reliability_text) in page
    summary = " ".join(bundled_case.claims["G07"].summary.split())
    assert html.escape(summary) in page
    for digest in forecast.input_hashes.values():
        assert digest in page
    assert "Run manifest" in page and "Diagnostics" in page and 'role="alert"' not in page


def test_pdf_pages_and_text(pdf_text, briefing_files, forecast, bundled_case):
    reader, pages = pdf_text
    questions, _ = compute_questions(bundled_case, forecast)
    content = build_briefing(forecast, bundled_case, questions=questions,
                             watch=compute_watch(bundled_case, forecast),
                             sensitivity=compute_sensitivity(bundled_case, forecast))
    charts = len(CHARTS) + len(extra_charts(bundled_case))
    expected = len(front_pages(content)) + charts + len(back_pages(content))
    assert len(reader.pages) == expected >= 1 + charts + 1
    text = "\n".join(pages)
    flat = " ".join(text.split())
    assert "Russia-Iran military and economic relationship" in pages[0]
    assert "Key drivers" in pages[0] and "Bottom line" in pages[0]
    assert " ".join(forecast.headline().split()[:6]) in flat
    for item_id in forecast.item_ids:
        assert item_id in text
    for digest in forecast.input_hashes.values():
        assert digest in flat.replace(" ", "")
    assert "Run manifest" in text and "Diagnostics" in text
    assert f"page 1 of {expected}" in pages[0]
    assert "Which scenario best describes" in flat  # the question


def test_briefing_says_what_would_change_the_forecast(page, pdf_text, briefing_files, forecast,
                                                     bundled_case):
    direct = sensitivity(bundled_case, AS_OF)  # computed afresh, not the report's memo
    lead, top = direct.lead, direct.top(5)
    listed = re.findall(r'<li data-input="([^"]+)" data-swing="([0-9.]+)">([^<]*)</li>', page)
    assert [path for path, _, _ in listed] == [i.quantity.path for i in top]
    np.testing.assert_allclose([float(swing) for _, swing, _ in listed],
                               [i.swing for i in top], atol=1e-6)
    for (_, _, text), influence in zip(listed, top, strict=True):
        q = influence.quantity
        text = html.unescape(text)
        assert text.startswith(f"{q.label} ({figure(q.value)}): ")
        assert (f"{figure(q.low)} gives {percent(influence.at_low[lead])}, {figure(q.high)} "
                f"gives {percent(influence.at_high[lead])}") in text
        if influence.tipping is not None:
            to = direct.labels[direct.scenario_ids.index(influence.tipping_to)]
            assert f"; {to} would lead from {figure(influence.tipping)}." in text
    assert f"{direct.labels[lead]} (now {percent(direct.probabilities[lead])})" in page
    assert 'id="chart-sensitivity"' in page
    assert f"tornado-{top[0].quantity.path}-low" in page  # the tornado's bars, inline
    out, written = briefing_files
    assert f"{STEM}-sensitivity.pdf" in {p.name for p in written}
    flat = " ".join(" ".join(pdf_text[1]).split())
    assert "What would change the forecast" in flat
    assert f"1. {top[0].quantity.label} ({figure(top[0].quantity.value)})" in flat


def test_sensitivity_is_computed_once_on_the_forecasts_weights(bundled_case, forecast,
                                                               monkeypatch):
    import toolkit.outputs.sensitivity as module

    calls = []
    real = module.sensitivity
    monkeypatch.setattr(module, "sensitivity",
                        lambda *args, **kwargs: calls.append(args) or real(*args, **kwargs))
    first = compute_sensitivity(bundled_case, forecast)
    assert compute_sensitivity(bundled_case, forecast) is first
    assert len(calls) <= 1  # the report's run may already be remembered
    runs = len(calls)
    even = run_forecast(bundled_case, as_of=AS_OF, weights=np.ones(3))
    reweighted = compute_sensitivity(bundled_case, even)
    assert len(calls) == runs + 1 and reweighted is not first
    np.testing.assert_allclose(reweighted.probabilities, even.probabilities, atol=1e-12)
    scale = sum(bundled_case.priors.weights)
    for k, sid in enumerate(bundled_case.priors.scenario_ids):
        influence = next(i for i in reweighted.influences
                         if i.quantity.path == f"scenarios.{sid}.weight")
        assert influence.quantity.value == pytest.approx(1.0)  # the weights as given
        halved = np.full(3, scale / 3)
        halved[k] /= 2
        np.testing.assert_allclose(influence.at_low, run_forecast(
            bundled_case, as_of=AS_OF, weights=halved).probabilities, atol=1e-12)


def test_case_text_is_escaped_everywhere(case_root, tmp_path):
    priors = case_root / "priors" / "russia-iran.yaml"
    priors.write_text(priors.read_text(encoding="utf-8").replace(
        "label: Drift or rupture", f"label: 'Drift {ATTACK} $x$ & co'"), encoding="utf-8")
    evidence = case_root / "evidence" / "russia-iran.csv"
    evidence.write_text(evidence.read_text(encoding="utf-8").replace(
        "Ryabkov said cooperation", f"{ATTACK} Ryabkov said cooperation"), encoding="utf-8")
    case = load_case(case_root, "russia-iran")
    forecast = run_forecast(case, as_of=AS_OF)
    content = build_briefing(forecast, case)
    chart = probability_chart(forecast)
    page = render_html(content, [ChartEmbed("probabilities", "caption",
                                            inline_svg(chart, "probabilities"))])
    assert "<script" not in page.lower()
    assert html.escape(f"{ATTACK} Ryabkov") in page
    assert html.escape(f"Drift {ATTACK} $x$ & co") in page
    pdf = tmp_path / "b.pdf"
    write_briefing_pdf(content, [], pdf)
    text = "\n".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert f"{ATTACK} Ryabkov" in text  # shown literally, as text
    assert "$x$ & co" in text


def test_unconverged_run_is_flagged(forecast, bundled_case, tmp_path):
    bad = dataclasses.replace(forecast, diagnostics={"converged": False, "r_hat_max": 1.31,
                                                     "ess_bulk_min": 42.0})
    content = build_briefing(bad, bundled_case)
    assert content.warnings and "not reliable" in content.warnings[0]
    page = render_html(content, [])
    assert 'class="warning" role="alert"' in page and "NOT CONVERGED" in page
    assert "r_hat_max" in page and "1.31" in page
    pdf = tmp_path / "bad.pdf"
    write_briefing_pdf(content, [], pdf)
    first = PdfReader(pdf).pages[0].extract_text()
    assert "WARNING" in first and "NOT CONVERGED" in first
    chart = probability_chart(bad)
    assert "did not converge" in chart._supxlabel.get_text()
    assert "NOT CONVERGED" in chart._suptitle.get_text()


def test_no_evidence_briefing(bundled_case, tmp_path):
    empty = run_forecast(bundled_case, as_of=dt.date(2000, 1, 1))
    content = build_briefing(empty, bundled_case)
    assert content.evidence == [] and content.drivers == []
    assert "No evidence was used" in content.warnings[0]
    pages = write_briefing_pdf(content, [], tmp_path / "empty.pdf")
    assert len(PdfReader(tmp_path / "empty.pdf").pages) == pages


def test_wrap_measured_fits_the_width():
    lines = wrap_measured("word " * 200 + "x" * 300, width=3.0, size=10)
    assert len(lines) > 10
    assert all(text_width(line, 10) <= 3.0 + 1e-9 for line in lines)
