"""The dashboard driven as plain Python: sliders, inputs, toggles and buttons, no kernel."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import threading
import time
from pathlib import Path

import ipywidgets as w
import numpy as np
import pytest

from toolkit.inference.engines import EngineResult, get_engine
from toolkit.inference.sampling import Cancelled, ChainState
from toolkit.model.case import load_case
from toolkit.outputs.forecast import Forecast, run_forecast
from toolkit.store.priors_edit import edit_priors_text
from toolkit.ui.dashboard import ROOT_VARIABLE, Dashboard, notebook_root
from toolkit.ui.dashboard.debounce import Debouncer
from toolkit.ui.dashboard.views import pct, probability_svg

CASE = "russia-iran"


@pytest.fixture
def dash(case_root: Path) -> Dashboard:
    return Dashboard(case_root, CASE, debounce=0)


def _same(a: Forecast, b: Forecast) -> None:
    np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(a.intervals, b.intervals, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(a.trail, b.trail, rtol=1e-10, atol=1e-13)
    assert a.item_ids == b.item_ids


def _ledger_with(root: Path, item_id: str, **cells: str) -> str:
    text = (root / "evidence" / f"{CASE}.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        if row["id"] == item_id:
            row.update(cells)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _html_widgets(widget: w.Widget) -> list[w.HTML]:
    found = [widget] if isinstance(widget, w.HTML) else []
    for child in getattr(widget, "children", ()):
        found += _html_widgets(child)
    return found


def test_opens_on_the_same_forecast_as_the_command_line(dash, case_root):
    expected = run_forecast(load_case(case_root, CASE))
    _same(dash.forecast, expected)
    assert dash.forecast.engine == "exact"
    for p in expected.probabilities:
        assert pct(p) in dash.summary.value
    bars = re.findall(r'data-probability="([0-9.]+)"', dash.probability_chart.value)
    np.testing.assert_allclose([float(b) for b in bars], expected.probabilities, atol=1e-6)
    assert [s.value for s in dash.weight_sliders.values()] == [0.25, 0.5, 0.25]


def test_weight_sliders_reweight_without_rerunning_the_engine(dash, case_root):
    runs = dash.engine_runs["exact"]
    dash.weight_sliders["defense_partnership"].value = 0.7
    dash.weight_sliders["drift"].value = 0.05
    raw = np.array([0.7, 0.5, 0.05])
    assert dash.engine_runs["exact"] == runs
    expected = run_forecast(load_case(case_root, CASE), weights=raw / raw.sum())
    _same(dash.forecast, expected)
    np.testing.assert_allclose(dash.forecast.prior, raw / raw.sum())
    assert [s.value for s in dash.weights.shares.values()] == [
        f"{100 * v / raw.sum():.1f}%" for v in raw]
    assert dash.forecast.probabilities[0] > 0.2  # the move is visible, not a rounding ripple


def test_expectation_inputs_rerun_the_exact_engine(dash, case_root):
    runs = dash.engine_runs["exact"]
    row = dash.expectation_inputs[("drone_supply", "drift")]
    row.high.value = 2000.0
    row.per.value = "week"
    assert dash.engine_runs["exact"] == runs + 2
    text = (case_root / "priors" / f"{CASE}.yaml").read_text(encoding="utf-8")
    edited, _ = edit_priors_text(text, expectations={
        ("drone_supply", "drift"): {"high": 2000, "per": "week"}})
    expected = run_forecast(load_case(case_root, CASE, priors_text=edited))
    _same(dash.forecast, expected)
    assert "drone_supply/drift: 1-2000 per week" in dash.status.value


def test_a_bad_interval_is_refused_and_changes_nothing(dash):
    before = dash.forecast.probabilities.copy()
    runs = dash.engine_runs["exact"]
    dash.expectation_inputs[("drone_supply", "drift")].low.value = 5000.0
    assert "must be below high" in dash.status.value and "not applied" in dash.status.value
    assert dash.engine_runs["exact"] == runs
    np.testing.assert_array_equal(dash.forecast.probabilities, before)
    signal = dash.expectation_inputs[("diplomatic_alignment", "drift")]
    assert signal.per is None  # shares have no period
    signal.high.value = 1.2
    assert "inside (0, 1)" in dash.status.value


def test_evidence_toggles_and_reliability_what_ifs(dash, case_root):
    ledger = (case_root / "evidence" / f"{CASE}.csv").read_bytes()
    baseline = dash.forecast.probabilities.copy()
    dash.evidence_include["E04"].value = False
    left_out = run_forecast(load_case(case_root, CASE, evidence_text=_ledger_with(
        case_root, "E04", status="retracted")))
    _same(dash.forecast, left_out)
    assert dash.forecast.excluded["left_out_in_dashboard"] == ["E04"]
    dash.evidence_include["E04"].value = True
    np.testing.assert_allclose(dash.forecast.probabilities, baseline, rtol=1e-12)
    dash.evidence_reliability["E16"].value = 0.0
    false_report = run_forecast(load_case(case_root, CASE, evidence_text=_ledger_with(
        case_root, "E16", reliability="0")))
    _same(dash.forecast, false_report)
    options = dash.evidence_reliability["E16"].options
    assert options[0] == ("B2 as graded (0.72)", pytest.approx(0.7225))
    assert options[-1] == ("false: no weight (0)", 0.0)
    assert not any(label.startswith("B2 probably") for label, _ in options)  # no duplicate
    assert (case_root / "evidence" / f"{CASE}.csv").read_bytes() == ledger  # untouched


@pytest.mark.slow  # draws and saves every report chart several times
def test_export_button_writes_charts_and_never_silently_replaces_another_run(dash, case_root):
    dash.weight_sliders["drift"].value = 0.9
    dash.export_button.click()
    written = dash.last_export
    assert set(written) <= set((case_root / "reports").iterdir())
    assert {p.suffix for p in written} >= {".png", ".svg", ".pdf"}
    charts = [p for p in written if p.suffix in (".png", ".svg", ".pdf")]
    assert all(p.name.startswith(f"{CASE}-{dash.forecast.as_of.isoformat()}-") for p in charts)
    magic = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xm"}
    assert all(p.read_bytes().startswith(magic[p.suffix]) for p in charts)
    assert f"Exported {len(written)} files" in dash.status.value
    chart = next(p for p in charts if p.name.endswith("-probabilities.png"))
    old = chart.read_bytes()
    dash.weight_sliders["drift"].value = 0.1  # another forecast: its files are another run's
    dash.export_button.click()
    assert "Export refused" in dash.status.value
    assert "replace files of another run" in dash.status.value
    assert chart.read_bytes() == old
    dash.replace_exports.value = True
    assert chart in dash.export(formats=("png",))
    assert chart.read_bytes() != old


def test_save_priors_writes_sliders_and_intervals_with_a_backup(dash, case_root):
    path = case_root / "priors" / f"{CASE}.yaml"
    old = path.read_text(encoding="utf-8")
    dash.weight_sliders["transactional"].value = 0.4
    dash.expectation_inputs[("financing", "drift")].high.value = 2.0
    shown = dash.forecast.probabilities.copy()
    dash.save_button.click()
    new = path.read_text(encoding="utf-8")
    backups = list((case_root / "priors").glob("*.bak"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == old
    assert sum(a != b for a, b in zip(old.splitlines(), new.splitlines(), strict=True)) == 2
    reloaded = run_forecast(load_case(case_root, CASE))  # the file's own weights now
    np.testing.assert_allclose(reloaded.probabilities, shown, rtol=1e-10)
    np.testing.assert_allclose(dash.forecast.probabilities, shown, rtol=1e-10)
    assert "Saved 2 change(s)" in dash.status.value
    dash.save_button.click()
    assert "nothing to save" in dash.status.value
    assert len(list((case_root / "priors").glob("*.bak"))) == 1


def test_zero_weights_are_refused_and_not_saved(dash, case_root):
    path = case_root / "priors" / f"{CASE}.yaml"
    old = path.read_bytes()
    sliders = list(dash.weight_sliders.values())
    sliders[0].value = sliders[1].value = 0.0
    shown = dash.forecast.probabilities.copy()
    np.testing.assert_array_equal(shown, [0.0, 0.0, 1.0])
    sliders[2].value = 0.0
    assert "positive weight" in dash.status.value
    np.testing.assert_array_equal(dash.forecast.probabilities, shown)
    dash.save_button.click()
    assert "Priors not saved" in dash.status.value and "weights are zero" in dash.status.value
    assert path.read_bytes() == old


def test_a_priors_file_changed_on_disk_is_never_overwritten_and_can_be_reloaded(dash,
                                                                                case_root):
    from toolkit.store.priors_edit import save_priors

    path = case_root / "priors" / f"{CASE}.yaml"
    save_priors(case_root, CASE, weights={"drift": 0.35})  # another editor, after loading
    theirs = path.read_bytes()
    dash.weight_sliders["transactional"].value = 0.4
    assert dash.save_priors() == []
    assert "changed on disk" in dash.status.value and "Reload files" in dash.status.value
    assert path.read_bytes() == theirs  # their edit survives
    old_widget = dash.widget
    dash.reload_button.click()
    assert dash.widget is old_widget  # the shown widget is refilled, not replaced
    assert dash.weight_sliders["drift"].value == pytest.approx(0.35)
    assert dash.weight_sliders["transactional"].value == pytest.approx(0.5)
    assert "Reloaded" in dash.status.value
    dash.weight_sliders["transactional"].value = 0.4
    assert dash.save_priors() != []  # now a save starts from their file
    case = load_case(case_root, CASE)
    assert [s.weight for s in case.priors.scenarios][1:] == [0.4, 0.35]


def test_evidence_added_after_loading_is_flagged_on_export_and_read_on_reload(dash, case_root):
    from toolkit.store.ledger import append_item

    before = list(dash.forecast.item_ids)
    append_item(case_root, CASE, {"id": "E90", "reported_on": "2024-01-10",
                                  "period_start": "2023-09-01", "period_end": "2023-12-31",
                                  "indicator": "defense_commitment", "value": "yes",
                                  "unit": "events", "source": "G25", "reliability": "B2"})
    assert dash.export(case_root / "out1", formats=("svg",))
    assert "evidence/russia-iran.csv changed on disk" in dash.status.value
    dash.reload()
    assert "E90" in dash.forecast.item_ids and len(dash.forecast.item_ids) == len(before) + 1
    assert "E90" in dash.evidence_include
    _same(dash.forecast, run_forecast(load_case(case_root, CASE)))
    dash.export(case_root / "out2", formats=("svg",))
    assert "changed on disk" not in dash.status.value


def test_export_runs_in_the_background_can_be_cancelled_and_offers_a_download(dash, case_root):
    import base64
    import json
    import threading
    import zipfile

    job, out = dash.export_job, case_root / "out"
    job.background = True  # as inside a kernel
    gate, real = threading.Event(), job.progress

    def held_then_cancelled(done, total, what=""):
        if done == 0:
            gate.wait(60)  # the export waits here while the test moves a slider
        if done == 1:
            job.cancel()
        real(done, total, what)

    job.progress = held_then_cancelled
    shown = dash.forecast.probabilities.copy()
    assert dash.export(out, formats=("svg",)) == [] and job.running
    assert not job.cancel_button.disabled and "Exporting" in dash.status.value
    dash.weight_sliders["drift"].value = 0.9  # the controls stay live during the export
    assert not np.allclose(dash.forecast.probabilities, shown)
    assert dash.export(out, formats=("svg",)) == []  # one export at a time
    assert "under way" in dash.status.value
    gate.set()
    job.thread.join(120)
    assert "Export cancelled" in dash.status.value and job.cancel_button.disabled
    assert len(list(out.glob("*.svg"))) == 1  # stopped at the next file
    manifest = json.loads(next(out.glob("*-manifest.json")).read_text(encoding="utf-8"))
    assert manifest["complete"] is False
    del job.progress
    dash.weight_sliders["drift"].value = 0.25  # back to the weights the export had
    dash.export(out, formats=("svg",))  # the same run again finishes the set
    job.thread.join(120)
    assert "Exported" in dash.status.value and job.bar.value == pytest.approx(
        (len(dash.last_export) - 2) / (len(dash.last_export) - 1))
    href = re.search(r'href="data:application/zip;base64,([^"]+)"', dash.download.value)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(href.group(1)))) as archive:
        assert sorted(archive.namelist()) == sorted(p.name for p in dash.last_export)
        first = dash.last_export[0]
        assert archive.read(first.name) == first.read_bytes()


class _ProgressEngine:
    """A sampling-engine double for the Run path: exact numbers, reported progress per chain."""

    name = "pymc"

    def __init__(self, converged: bool, progress, on_chains, stop, **options):
        self.converged = converged
        self.progress, self.on_chains, self.stop = progress, on_chains, stop
        self.options = options

    def run(self, case, observations, seed):
        for step in range(5):
            self.progress(f"sampling {step}/4", step / 4)
            self.on_chains([ChainState(100 * step, 400, step < 2, 0),
                            ChainState(80 * step, 400, step < 3, int(step == 4))])
        result = get_engine("exact").run(case, observations, seed)
        return EngineResult(result.increments, result.log_marginal,
                            {"converged": self.converged, "r_hat_max": 1.2}, {})


def _factory(converged: bool, made: list):
    def factory(name, **options):
        if name != "pymc":
            return get_engine(name)
        engine = _ProgressEngine(converged, **options)
        made.append(engine)
        return engine
    return factory


def test_run_button_shows_progress_per_chain_and_flags_a_non_converged_run(case_root):
    made: list = []
    dash = Dashboard(case_root, CASE, debounce=0, engine_factory=_factory(False, made))
    seen: list[float] = []
    dash.progress.observe(lambda change: seen.append(change["new"]), names="value")
    dash.draws.value, dash.chains.value = 200, 2
    dash.run_button.click()
    assert made[0].options == {"draws": 200, "chains": 2}
    assert seen == sorted(seen) and 0.5 in seen and seen[-1] == 1.0
    bars = dash.pymc.chain_bars.children
    assert [b.value for b in bars] == [1.0, 0.8]  # the last report of each chain
    assert [b.bar_style for b in bars] == ["success", "warning"]
    assert bars[1].tooltip == "chain 2: 320/400, 1 divergent"
    assert dash.forecast.engine == "pymc" and dash.engine_picker.value == "pymc"
    assert not dash.forecast.converged
    assert "NOT CONVERGED" in dash.summary.value and "NOT CONVERGED" in dash.diagnostics_view.value
    assert dash.progress.bar_style == "danger"
    _same(dash.forecast, run_forecast(load_case(case_root, CASE)))
    pymc_runs = dash.engine_runs["pymc"]
    dash.weight_sliders["drift"].value = 0.6  # reweights the PyMC result, no resampling
    assert dash.engine_runs["pymc"] == pymc_runs and dash.forecast.engine == "pymc"
    dash.evidence_include["E01"].value = False  # live: the new inputs are fitted at once
    assert dash.forecast.engine == "pymc" and dash.engine_runs["pymc"] == pymc_runs + 1
    assert "E01" not in dash.forecast.item_ids
    dash.run_button.click()
    assert len(made) == 1  # same draws and chains: the engine (and its model) is reused
    assert dash.forecast.engine == "pymc" and dash.engine_runs["pymc"] == pymc_runs + 2
    dash.engine_picker.value = "exact"
    dash.evidence_include["E01"].value = True  # exact: no PyMC fit
    assert dash.forecast.engine == "exact" and dash.engine_runs["pymc"] == pymc_runs + 2


class _BlockingEngine:
    """Samples until released or stopped: a fit still running when the inputs change."""

    name = "pymc"

    def __init__(self, stop, **options):
        self.stop = stop
        self.release = threading.Event()
        self.calls: list[tuple[int, str]] = []

    def run(self, case, observations, seed):
        self.calls.append((len(observations), "started"))
        while not self.release.is_set():
            if self.stop.is_set():
                self.calls.append((len(observations), "cancelled"))
                raise Cancelled
            time.sleep(0.01)
        self.calls.append((len(observations), "finished"))
        return get_engine("exact").run(case, observations, seed)


def _wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_change_during_a_fit_cancels_it_and_fits_the_new_inputs(case_root):
    engines: list = []

    def factory(name, **options):
        if name != "pymc":
            return get_engine(name)
        engines.append(_BlockingEngine(**options))
        return engines[-1]

    dash = Dashboard(case_root, CASE, debounce=0, engine_factory=factory)
    dash.pymc.job.background = True
    dash.engine_picker.value = "pymc"  # live: a fit starts in the background
    _wait_for(lambda: engines and engines[0].calls)
    assert dash.forecast.engine == "exact" and "PyMC is fitting" in dash.status.value
    assert not dash.weight_sliders["drift"].disabled  # the controls stay live
    n = len(dash.forecast.item_ids)
    dash.evidence_include["E01"].value = False  # stale now: cancelled, the new one queued
    _wait_for(lambda: len(engines[0].calls) >= 3)
    assert engines[0].calls[:3] == [(n, "started"), (n, "cancelled"), (n - 1, "started")]
    engines[0].release.set()
    _wait_for(lambda: dash.forecast.engine == "pymc")
    dash.pymc.job.thread.join(5)
    assert dash.engine_runs["pymc"] == 1 and "E01" not in dash.forecast.item_ids
    assert len(dash.forecast.item_ids) == n - 1

    engines[0].release.clear()
    dash.evidence_include["E01"].value = True
    _wait_for(lambda: len(engines[0].calls) >= 5)
    dash.pymc.cancel()  # Cancel: the fit stops and nothing is queued
    dash.pymc.job.thread.join(5)
    assert engines[0].calls[-1] == (n, "cancelled")
    assert "cancelled" in dash.progress_text.value and dash.progress.bar_style == "warning"
    assert dash.forecast.engine == "exact" and dash.engine_runs["pymc"] == 1


def test_run_button_explains_an_unavailable_or_failing_engine(case_root):
    def missing(name, **options):
        if name == "pymc":
            raise ModuleNotFoundError("No module named 'pymc'")
        return get_engine(name)

    dash = Dashboard(case_root, CASE, debounce=0, engine_factory=missing)
    before = dash.forecast.probabilities.copy()
    dash.run_button.click()
    assert "PyMC engine is unavailable" in dash.status.value
    assert "No module named" in dash.status.value
    assert dash.forecast.engine == "exact" and not dash.run_button.disabled
    np.testing.assert_array_equal(dash.forecast.probabilities, before)

    class Broken:
        name = "pymc"

        def run(self, case, observations, seed):
            raise RuntimeError("sampler blew up <b>")

    dash.engine_factory = lambda name, **options: Broken() if name == "pymc" else get_engine(name)
    dash.pymc._engine = None
    dash.run_button.click()
    assert "The PyMC run failed (RuntimeError: sampler blew up &lt;b&gt;)" in dash.status.value
    assert dash.weight_sliders["drift"].value == 0.25
    dash.weight_sliders["drift"].value = 0.5  # the exact engine keeps working
    assert dash.forecast.engine == "exact"


def test_live_pymc_on_a_refused_case_says_why_once(case_root):
    from toolkit.core.errors import CaseError, Problem

    calls: list[int] = []

    class Refusing:
        name = "pymc"

        def run(self, case, observations, seed):
            calls.append(1)
            raise CaseError([Problem("priors/x.yaml", None, "watch", "cannot read", "fix")])

    dash = Dashboard(case_root, CASE, debounce=0, engine_factory=lambda name, **o: (
        Refusing() if name == "pymc" else get_engine(name)))
    dash.engine_picker.value = "pymc"
    assert "refused the case" in dash.status.value and dash.forecast.engine == "exact"
    dash.weight_sliders["drift"].value = 0.4  # no second attempt at the same inputs
    assert "refused the case" in dash.status.value and dash.pymc.refused == dash.whatif.version
    assert len(calls) == 1


def test_case_text_is_escaped_in_every_html_widget(case_root):
    path = case_root / "priors" / f"{CASE}.yaml"
    evil = "<img src=x onerror=alert(1)>"
    text = path.read_text(encoding="utf-8").replace(
        "label: Drift or rupture", f'label: "Drift {evil}"').replace(
        "title: Russia-Iran military", "title: <script>x</script> Russia-Iran military")
    path.write_text(text, encoding="utf-8")
    dash = Dashboard(case_root, CASE, debounce=0)
    markup = " ".join(h.value for h in _html_widgets(dash.widget))
    assert "<img" not in markup and "<script" not in markup
    assert "Drift &lt;img src=x onerror=alert(1)&gt;" in markup
    assert "&lt;script&gt;x&lt;/script&gt;" in markup


def test_debouncer_coalesces_changes_inside_a_running_loop():
    calls: list[int] = []
    errors: list[BaseException] = []

    async def burst() -> None:
        debounced = Debouncer(lambda: calls.append(1), 0.05, errors.append)
        for _ in range(10):
            debounced()
            await asyncio.sleep(0.005)
        assert calls == []
        await asyncio.sleep(0.15)

    asyncio.run(burst())
    assert calls == [1] and errors == []


def test_debouncer_reports_errors_of_the_delayed_action():
    errors: list[BaseException] = []

    def fail() -> None:
        raise ValueError("boom")

    async def once() -> None:
        Debouncer(fail, 0.01, errors.append)()
        await asyncio.sleep(0.05)

    asyncio.run(once())
    assert [str(e) for e in errors] == ["boom"]


def test_notebook_root_prefers_parameter_then_environment(case_root, tmp_path, monkeypatch):
    monkeypatch.delenv(ROOT_VARIABLE, raising=False)
    (case_root / "notebooks").mkdir()
    monkeypatch.chdir(case_root / "notebooks")
    assert notebook_root() == case_root.resolve()
    monkeypatch.setenv(ROOT_VARIABLE, str(tmp_path))
    assert notebook_root() == tmp_path.resolve()
    assert notebook_root(case_root) == case_root.resolve()


def test_probability_svg_bars_are_the_probabilities(bundled_case):
    forecast = run_forecast(bundled_case)
    svg = probability_svg(forecast)
    scale = float(re.search(r'data-scale="([0-9.]+)"', svg).group(1))
    widths = [float(x) for x in re.findall(r'class="bar"[^>]*? width="([0-9.]+)"', svg)]
    np.testing.assert_allclose(np.array(widths) / scale, forecast.probabilities, atol=1e-5)


def test_indicator_picker_lists_the_most_diagnostic_first(dash):
    options = dash.expectations.picker.options
    assert len(options) == len(load_case(dash.root, CASE).used_indicators)
    spreads = [float(m.group(1)) if (m := re.search(r"spread ([0-9.]+)", label)) else 0.0
               for label, _ in options]
    assert spreads == sorted(spreads, reverse=True) and spreads[0] > 0
    dash.expectations.picker.value = "financing"
    assert dash.expectation_inputs[("financing", "drift")].box in dash.expectations.panel.children


def test_the_summary_never_shows_a_nonzero_probability_as_zero() -> None:
    assert [pct(p) for p in (0.0004, 0.3141, 0.99971)] == ["<0.1%", "31.4%", ">99.9%"]
