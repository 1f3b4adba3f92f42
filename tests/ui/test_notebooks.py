"""Every notebook executed headless (papermill + nbclient) against a scratch copy of the case."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from pathlib import Path

import nbformat
import pytest

from toolkit.model.case import load_case
from toolkit.outputs.forecast import run_forecast
from toolkit.ui.dashboard.views import pct

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
CASE = "russia-iran"


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def run_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Execute a notebook with papermill in a scratch folder; return the executed notebook."""
    import papermill

    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("SCENARIO_TOOLKIT_ROOT", raising=False)
    repo_before = {sub: _digest(REPO / sub) for sub in ("priors", "evidence")}

    def run(name: str, **parameters) -> nbformat.NotebookNode:
        out = tmp_path / f"executed-{name}"
        papermill.execute_notebook(
            str(NOTEBOOKS / name), str(out), parameters=parameters, kernel_name="python3",
            cwd=str(tmp_path), progress_bar=False, execution_timeout=240)
        return nbformat.read(out, as_version=4)

    yield run
    assert {sub: _digest(REPO / sub) for sub in ("priors", "evidence")} == repo_before


def _outputs(book: nbformat.NotebookNode) -> tuple[str, list[dict]]:
    text, rich = [], []
    for cell in book.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            if output["output_type"] == "stream":
                text.append(output["text"])
            elif "data" in output:
                rich.append(output["data"])
                text.append(output["data"].get("text/html", ""))
                text.append(output["data"].get("text/plain", ""))
    return "\n".join(text), rich


def _rich(book: nbformat.NotebookNode) -> list[dict]:
    return _outputs(book)[1]


def _widget_values(book: nbformat.NotebookNode, model: str = "") -> list[tuple[list[str], str]]:
    state = book.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return [(m["state"].get("_dom_classes", []), str(m["state"].get("value", "")))
            for m in state.values() if m["model_name"].startswith(model)]


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebooks_are_stored_without_outputs(name):
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(book)
    assert book.cells[0].cell_type == "markdown"
    assert len(book.cells[0].source.strip().splitlines()) == 2
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert "widgets" not in book.metadata


def test_dashboard_notebook_shows_the_forecast(run_notebook, case_root):
    book = run_notebook("01_forecast_dashboard.ipynb", case_root=str(case_root))
    _, rich = _outputs(book)
    assert any("application/vnd.jupyter.widget-view+json" in data for data in rich)
    expected = run_forecast(load_case(case_root, CASE))
    summaries = [value for classes, value in _widget_values(book)
                 if "forecast-summary" in classes]
    assert len(summaries) == 1
    assert html.escape(expected.headline()) in summaries[0]
    for p in expected.probabilities:
        assert pct(p) in summaries[0]
    charts = [value for classes, value in _widget_values(book)
              if "probability-chart" in classes]
    assert charts and charts[0].count('class="bar"') == len(expected.labels)


def test_add_evidence_notebook_appends_and_reports_the_move(run_notebook, case_root):
    before = run_forecast(load_case(case_root, CASE))
    item = {"id": "E90", "reported_on": "2024-01-10", "period_start": "2023-09-01",
            "period_end": "2023-12-31", "indicator": "defense_commitment", "value": "yes",
            "unit": "events", "source": "G25", "reliability": "B2",
            "note": "<script>alert(1)</script> a treaty"}
    book = run_notebook("02_add_evidence.ipynb", case_root=str(case_root), new_item=item)
    text, _ = _outputs(book)
    ledger = (case_root / "evidence" / f"{CASE}.csv").read_text(encoding="utf-8")
    assert ledger.rstrip().splitlines()[-1].startswith("E90,2024-01-10,2023-09-01,2023-12-31,")
    after = run_forecast(load_case(case_root, CASE))
    assert "Added E90" in text
    for label, p0, p1 in zip(after.labels, before.probabilities, after.probabilities,
                             strict=True):
        assert f"{label}: {pct(p0)} -> {pct(p1)}" in text
    moved = int(abs(after.probabilities - before.probabilities).argmax())
    assert f"It moved '{after.labels[moved]}' most" in text
    shown = " ".join(value for _, value in _widget_values(book, "HTML"))
    assert "Note: <i>&lt;script&gt;alert(1)&lt;/script&gt; a treaty</i>" in shown
    assert "<script>" not in shown
    frames = [data["text/html"] for data in _rich(book) if "dataframe" in
              data.get("text/html", "")]
    assert len(frames) == 1  # the ledger as a pandas DataFrame, the new row counted
    ledger_rows = re.findall(r"<tr>\s*<th>(E\d+)</th>(.*?)</tr>", frames[0], re.S)
    assert [row_id for row_id, _ in ledger_rows] == [i.id for i in sorted(
        load_case(case_root, CASE).evidence, key=lambda i: i.line)]
    assert "<td>True</td>" in dict(ledger_rows)["E90"]


def test_add_evidence_notebook_refuses_a_bad_row(run_notebook, case_root):
    ledger = case_root / "evidence" / f"{CASE}.csv"
    old = ledger.read_bytes()
    item = {"id": "E91", "reported_on": "2024-01-10", "period_start": "2023-09-01",
            "period_end": "2023-12-31", "indicator": "drone_supply", "value": "lots",
            "unit": "drones", "source": "G02", "reliability": "B2"}
    book = run_notebook("02_add_evidence.ipynb", case_root=str(case_root), new_item=item)
    text, _ = _outputs(book)
    assert "Not added" in text and "'lots' is not a value" in text
    assert ledger.read_bytes() == old


def test_briefing_notebook_is_parameterised(run_notebook, case_root, tmp_path):
    out_dir = tmp_path / "briefing"
    book = run_notebook("03_briefing.ipynb", case=CASE, as_of="2023-06-30",
                        case_root=str(case_root), out_dir=str(out_dir))
    text, rich = _outputs(book)
    expected = run_forecast(load_case(case_root, CASE), as_of=dt.date(2023, 6, 30))
    assert expected.headline() in text
    assert len(expected.items) < 17  # the as-of date really filtered the evidence
    for p in expected.probabilities:
        assert pct(p) in text
    written = sorted(out_dir.iterdir())
    charts = [p for p in written if p.suffix in (".png", ".svg", ".pdf")]
    assert {p.suffix for p in charts} == {".png", ".svg", ".pdf"}
    assert any(p.name == f"{CASE}-2023-06-30-probabilities.png" for p in charts)
    assert all("2023-06-30" in p.name and p.stat().st_size > 0 for p in written)
    for path in written:
        assert f"wrote {path}" in text
    pngs = [data for data in rich if "image/png" in data]
    assert len(pngs) == sum(p.suffix == ".png" for p in charts) > 0
    assert any(p.name == f"{CASE}-2023-06-30-sensitivity.png" for p in charts)
    frames = [data["text/html"] for data in rich if "dataframe" in data.get("text/html", "")]
    assert len(frames) == 2  # the trail and the attribution, as pandas DataFrames
    for item in expected.items:
        assert f"<th>{item.id}</th>" in frames[1]
    assert f"<td>{expected.items[-1].id}</td>" in frames[0]


def test_briefing_notebook_explains_files_of_another_run_and_can_force(run_notebook, case_root,
                                                                       tmp_path):
    from toolkit.outputs.report import export_charts

    out_dir = tmp_path / "reports"
    case = load_case(case_root, CASE)
    other = run_forecast(case, as_of=dt.date(2023, 6, 30), seed=99)  # another run's files
    export_charts(other, out_dir, ["png"], sensitivity=False)
    before = _digest(out_dir)
    book = run_notebook("03_briefing.ipynb", case=CASE, as_of="2023-06-30",
                        case_root=str(case_root), out_dir=str(out_dir))
    text, _ = _outputs(book)  # no error output: _outputs asserts it
    assert "Charts not written" in text and "force = True" in text and "wrote " not in text
    assert _digest(out_dir) == before
    assert "dataframe" in text  # the rest of the notebook still ran
    forced = run_notebook("03_briefing.ipynb", case=CASE, as_of="2023-06-30",
                          case_root=str(case_root), out_dir=str(out_dir), force=True)
    text, _ = _outputs(forced)
    assert "Charts not written" not in text and "wrote " in text
    assert _digest(out_dir) != before
