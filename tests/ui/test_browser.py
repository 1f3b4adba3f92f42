"""A real browser on the Voila dashboard: move a prior slider, see the forecast change, export.

Voila serves ``notebooks/01_forecast_dashboard.ipynb`` against a scratch copy of the case
(``SCENARIO_TOOLKIT_ROOT``); Playwright drives Debian's ``chromium-headless-shell``.
In CI (``CI`` set) a missing browser is a failure; elsewhere the test skips, saying why.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from toolkit.model.case import load_case
from toolkit.outputs.forecast import run_forecast
from toolkit.ui.dashboard.views import pct

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "01_forecast_dashboard.ipynb"
CHROMIUM = Path("/usr/bin/chromium-headless-shell")
CASE = "russia-iran"
START_TIMEOUT_S = 120
PAGE_TIMEOUT_MS = 120_000
EXPORT_TIMEOUT_MS = 300_000  # every report chart in three formats, on a shared 2-core machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    message = (f"{CHROMIUM} is missing: install it with 'apt-get install -y "
               "--no-install-recommends chromium-headless-shell' (.ci/run does this in CI)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def voila_url(case_root: Path, tmp_path: Path) -> Iterator[str]:
    """Start Voila on a free localhost port serving the dashboard; stop it afterwards."""
    _require_browser()
    port = _free_port()
    env = {**os.environ, "SCENARIO_TOOLKIT_ROOT": str(case_root), "MPLBACKEND": "Agg"}
    log_path = tmp_path / "voila.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "voila"), str(NOTEBOOK), "--no-browser",
             f"--port={port}", "--Voila.ip=127.0.0.1", "--show_tracebacks=True"],
            cwd=NOTEBOOK.parent, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"voila exited early:\n{log_path.read_text(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"voila did not listen within {START_TIMEOUT_S} s")
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # voila shuts its kernels down on SIGTERM
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)


def _posteriors(page) -> list[str]:
    return page.locator(".forecast-summary td.probability").all_inner_texts()


def test_slider_moves_the_forecast_and_export_writes_files(voila_url, case_root):
    from playwright.sync_api import sync_playwright

    case = load_case(case_root, CASE)
    start = run_forecast(case)
    weights = np.array([0.30, 0.50, 0.25])  # five ArrowRight steps of 0.01 on the first slider
    moved = run_forecast(case, weights=weights / weights.sum())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(voila_url, timeout=PAGE_TIMEOUT_MS)
            page.wait_for_selector(".forecast-summary td.probability")
            before = _posteriors(page)
            assert before == [pct(p) for p in start.probabilities]

            handle = page.locator(".scenario-weight .noUi-handle").first
            handle.focus()
            for _ in range(5):
                page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "want => [...document.querySelectorAll('.forecast-summary td.probability')]"
                ".map(e => e.innerText).join('|') === want",
                arg="|".join(pct(p) for p in moved.probabilities), timeout=60_000)
            after = _posteriors(page)
            assert after != before
            assert page.locator(".scenario-share").first.inner_text() == "28.6%"

            page.click("button.export-button")
            page.wait_for_function(
                "() => document.querySelector('.dashboard-status').innerText"
                ".includes('Exported')", timeout=EXPORT_TIMEOUT_MS)
            status = page.inner_text(".dashboard-status")
            link = page.locator("a.export-download")  # Voila users download the files
            assert link.get_attribute("download").endswith("-charts.zip")
            assert link.get_attribute("href").startswith("data:application/zip;base64,")
        finally:
            browser.close()
    written = sorted((case_root / "reports").iterdir())
    suffixes = {p.suffix for p in written}
    assert {".png", ".svg", ".pdf"} <= suffixes
    assert all(p.stat().st_size > 0 for p in written)
    assert f"{CASE}-{moved.as_of.isoformat()}-probabilities.png" in status


@pytest.mark.parametrize("width", [900, 1100])
def test_results_stay_above_the_fold_and_notes_readable_on_narrow_screens(voila_url, case_root,
                                                                        width):
    from playwright.sync_api import sync_playwright
    from test_dashboard_integration import AS_OF, _fake_dynamic

    from toolkit.outputs.charts import freeze_layout, inline_svg
    from toolkit.outputs.charts.timeline import timeline_chart

    # the dynamic panel's real chart markup (a run takes a minute: its numbers do not matter)
    timeline = inline_svg(freeze_layout(timeline_chart(_fake_dynamic(
        load_case(case_root, CASE), AS_OF))), salt="dashboard-timeline")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(voila_url, timeout=PAGE_TIMEOUT_MS)
            page.wait_for_selector(".forecast-summary td.probability")
            summary = page.locator(".forecast-summary").bounding_box()
            chart = page.locator(".probability-chart").bounding_box()
            notes = page.locator(".evidence-note").all()
            widths = [n.bounding_box()["width"] for n in notes[:5]]
            page.click("text=Dynamic model")  # an accordion panel with its own chart area
            page.wait_for_selector(".timeline-chart .widget-html-content", state="attached")
            page.evaluate("svg => { document.querySelector('.timeline-chart "
                          ".widget-html-content').innerHTML = svg; }", timeline)
            timeline_box = page.locator(".timeline-chart svg").bounding_box()
            overflow = page.evaluate(
                "() => [...document.querySelectorAll('.widget-html-content svg')]"
                ".filter(s => s.getBoundingClientRect().width > 0)"
                ".map(s => s.getBoundingClientRect().right - document.documentElement"
                ".clientWidth)")
        finally:
            browser.close()
    assert summary["y"] + summary["height"] < 900  # headline and table without scrolling
    assert chart["y"] < 900  # the chart starts on the first screen
    assert notes and min(widths) >= 200  # a note is read, not two characters
    assert overflow and max(overflow) <= 1  # every chart fits the screen: nothing clipped
    assert timeline_box["width"] > 200 and timeline_box["x"] + timeline_box["width"] <= width
