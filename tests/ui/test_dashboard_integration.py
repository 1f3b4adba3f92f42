"""The dashboard's "What to watch next" panel and "Run dynamic model" button."""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from toolkit.model.case import load_case
from toolkit.outputs.forecast import run_forecast
from toolkit.outputs.watch import watch
from toolkit.ui.dashboard import Dashboard

CASE = "russia-iran"
AS_OF = dt.date(2024, 3, 31)
ATTACK = "<script>alert(1)</script>"


def _listed(value: str) -> list[tuple[str, float]]:
    return [(i, float(b)) for i, b in
            re.findall(r'<li data-indicator="([^"]+)" data-bits="([0-9.]+)">', value)]


def _attack(root: Path) -> None:
    priors = root / "priors" / f"{CASE}.yaml"
    priors.write_text(priors.read_text(encoding="utf-8").replace(
        "label: Covert Caspian shipping", f"label: 'Covert {ATTACK} & shipping'"),
        encoding="utf-8")


def test_watch_panel_shows_the_watch_ranking(case_root, monkeypatch):
    _attack(case_root)
    dash = Dashboard(case_root, CASE, as_of=AS_OF, debounce=0)
    panel = dash.watch_panel
    assert "Rank indicators" in panel.view.value and not _listed(panel.view.value)
    panel.button.click()
    case = load_case(case_root, CASE)
    _, entries = watch(case, as_of=AS_OF)
    listed = _listed(panel.view.value)
    assert [i for i, _ in listed] == [e.indicator for e in entries[:5]]
    np.testing.assert_allclose([b for _, b in listed], [e.reduction_bits for e in entries[:5]],
                               atol=1e-6)
    assert "<script" not in panel.view.value.lower()
    if "covert_caspian_shipping" in [e.indicator for e in entries[:5]]:
        assert html.escape(f"Covert {ATTACK} & shipping") in panel.view.value
    assert panel.last_ms > 0

    # slow ranking: a refresh marks the list stale until the button is pressed again
    monkeypatch.setattr("toolkit.ui.dashboard.panels.LIVE_MS", 0.0)
    dash.weight_sliders["drift"].value = 0.9
    assert "inputs changed since this ranking" in panel.view.value
    assert _listed(panel.view.value) == listed
    dash.rank_indicators()
    raw = np.array([s.value for s in dash.weight_sliders.values()])
    reweighted = run_forecast(case, as_of=AS_OF, weights=raw / raw.sum())
    _, moved = watch(case, forecast=reweighted)
    assert "inputs changed" not in panel.view.value
    np.testing.assert_allclose([b for _, b in _listed(panel.view.value)],
                               [e.reduction_bits for e in moved[:5]], atol=1e-6)
    assert _listed(panel.view.value) != listed  # the weights moved the ranking's numbers

    # fast ranking: redone on every refresh
    monkeypatch.setattr("toolkit.ui.dashboard.panels.LIVE_MS", 1e9)
    dash.weight_sliders["drift"].value = 0.25
    assert "inputs changed" not in panel.view.value
    np.testing.assert_allclose([b for _, b in _listed(panel.view.value)],
                               [e.reduction_bits for e in entries[:5]], atol=1e-6)


def _fake_dynamic(case, as_of: dt.date):
    """A tiny dynamic result with known numbers (no sampling)."""
    from toolkit.outputs.dynamic_forecast import Band, DynamicForecast

    k = len(case.priors.scenario_ids)
    mean = np.array([[0.2, 0.5, 0.3], [0.3, 0.5, 0.2], [0.25, 0.6, 0.15], [0.1, 0.7, 0.2]])
    band = Band(mean, np.clip(mean - 0.1, 0, 1), np.clip(mean + 0.1, 0, 1))
    reach = Band(np.array([0.0, 0.0, 0.25, 0.4]), np.zeros(4), np.array([0.0, 0.0, 0.5, 0.7]))
    return DynamicForecast(
        case=case.name, title=case.priors.title, question=case.priors.question,
        horizon=dt.date(2024, 5, 31), as_of=as_of, seed=1, scenario_ids=case.priors.scenario_ids,
        labels=[s.label for s in case.priors.scenarios], prior=np.full(k, 1 / k),
        months=["2024-02", "2024-03", "2024-04", "2024-05"], as_of_row=1, filtered=band,
        smoothed=band, reach_by_month=reach, interval_level=0.9, target=0,
        static_probabilities=mean[-1], transition_prior=None, transition_mean=np.eye(k),
        duration_median=np.ones(k), items=[], items_by_row=[["E01"], [], [], []], excluded={},
        diagnostics={"converged": True})


def test_dynamic_button_shows_the_timeline(case_root):
    calls = []

    def runner(case, progress, **options):
        progress("sampling", 0.5)
        calls.append(options)
        return _fake_dynamic(case, options["as_of"])

    dash = Dashboard(case_root, CASE, as_of=AS_OF, debounce=0, dynamic_runner=runner)
    dash.weight_sliders["drift"].value = 0.5
    panel = dash.dynamic_panel
    assert panel.chart.value == ""
    panel.button.click()
    assert len(calls) == 1
    assert calls[0]["as_of"] == AS_OF and calls[0]["seed"] == dash.seed
    np.testing.assert_allclose(calls[0]["weights"], [0.25, 0.5, 0.5])
    assert panel.chart.value.startswith("<svg")
    for sid in dash.whatif.base.priors.scenario_ids:
        assert f'id="dashboard-timeline-timeline-{sid}"' in panel.chart.value
    assert html.escape(panel.result.headline()) in panel.status.value
    assert "70%" in panel.status.value and not panel.button.disabled

    # the evidence what-ifs reach the dynamic model: the items the rest of the dashboard uses
    dropped = next(iter(dash.evidence_include))
    dash.evidence_include[dropped].value = False
    panel.button.click()
    items, excluded = calls[1]["selection"]
    assert [i.id for i in items] == dash.forecast.item_ids and dropped not in dash.forecast.item_ids
    assert excluded["left_out_in_dashboard"] == [dropped]


def test_the_dynamic_model_reads_the_selection_it_is_given(bundled_case):
    from toolkit.outputs.dynamic_forecast import run_dynamic

    items, excluded = bundled_case.select(AS_OF)
    fewer = [i for i in items if i.indicator != "drone_supply"]
    result = run_dynamic(bundled_case, as_of=AS_OF, draws=200, tune=200, chains=2, seed=1,
                         selection=(fewer, {**excluded, "left_out_in_dashboard": ["X"]}))
    assert [i.id for i in result.items] == [i.id for i in fewer]
    assert result.excluded["left_out_in_dashboard"] == ["X"]


@pytest.mark.parametrize("error", [RuntimeError(f"boom {ATTACK}"), ImportError("no pymc")])
def test_dynamic_button_failure_shows_a_message(case_root, error):
    def runner(case, progress, **options):
        raise error

    dash = Dashboard(case_root, CASE, as_of=AS_OF, debounce=0, dynamic_runner=runner)
    assert dash.run_dynamic() is None
    status = dash.dynamic_panel.status.value
    assert html.escape(str(error)) in status and "<script" not in status
    assert dash.dynamic_panel.chart.value == "" and not dash.dynamic_panel.button.disabled
    assert dash.forecast is not None  # the rest of the dashboard keeps working


def _bars(panel) -> list[str]:
    return [box.children[0].tooltip for box in panel.rows.children]


def test_sensitivity_panel_ranks_inputs_and_selects_their_controls(case_root):
    from toolkit.outputs.sensitivity import sensitivity

    dash = Dashboard(case_root, CASE, as_of=AS_OF, debounce=0)
    panel = dash.sensitivity_panel
    assert "Find what drives it" in panel.status.value and not panel.rows.children
    assert not panel.is_current(dash._inputs_key())
    panel.button.click()
    case = load_case(case_root, CASE)
    direct = sensitivity(case, AS_OF)
    assert _bars(panel) == [i.quantity.path for i in direct.top(10)]
    assert panel.progress.value == 1.0 and panel.is_current(dash._inputs_key())
    tracks = re.findall(r'data-input="([^"]+)" data-swing="([0-9.]+)"',
                        "".join(box.children[1].value for box in panel.rows.children))
    np.testing.assert_allclose([float(s) for _, s in tracks],
                               [i.swing for i in direct.top(10)], atol=1e-6)

    weight = next(p for p in panel.bars if p.startswith("scenarios."))
    panel.bars[weight].click()
    slider = dash.weight_sliders[weight.split(".")[1]]
    assert "selected-control" in slider._dom_classes
    bound = next(p for p in panel.bars if p.startswith("expectations."))
    _, indicator, scenario, end = bound.split(".")
    dash.expectations.picker.value = next(value for _, value in dash.expectations.picker.options
                                          if value != indicator)
    panel.bars[bound].click()
    field = getattr(dash.expectation_inputs[(indicator, scenario)], end)
    assert dash.expectations.picker.value == indicator
    assert "selected-control" in field._dom_classes
    assert "selected-control" not in slider._dom_classes  # one control selected at a time
    assert bound in panel.status.value
    message = panel.select("wander")
    assert "no dashboard control" in message and "russia-iran.yaml" in message

    # the bars follow the dashboard's inputs: a what-if exclusion, then a slider
    dropped = next(iter(dash.evidence_include))
    dash.evidence_include[dropped].value = False
    assert "inputs changed since this analysis" in panel.status.value
    assert not panel.is_current(dash._inputs_key())
    panel.button.click()
    items = [i for i in case.select(AS_OF)[0] if i.id != dropped]
    what_if = sensitivity(case, AS_OF, items=items)
    np.testing.assert_allclose(panel.result.probabilities, what_if.probabilities, atol=1e-12)
    np.testing.assert_allclose(panel.result.probabilities, dash.forecast.probabilities,
                               atol=1e-12)
    assert [i.swing for i in panel.result.influences] == pytest.approx(
        [i.swing for i in what_if.influences], abs=1e-12)

    written = dash.export(case_root / "reports", formats=("svg",))
    assert any(p.name.endswith("-sensitivity.svg") for p in written)
    dash.weight_sliders["drift"].value = 0.9
    assert "inputs changed since this analysis" in panel.status.value
    written = dash.export(case_root / "reports2", formats=("svg",))
    assert written and not any("sensitivity" in p.name for p in written)


def test_dynamic_model_runs_in_the_background_with_chain_bars_and_cancel(case_root):
    from toolkit.inference.sampling import Cancelled, ChainState

    started = threading.Event()

    def runner(case, progress, on_chains, stop, **options):
        progress("sampling: chain 1: 10/2000", 0.2)
        on_chains([ChainState(10, 2000, True, 0), ChainState(30, 2000, True, 0)])
        started.set()
        while not stop.is_set():
            time.sleep(0.01)
        raise Cancelled

    dash = Dashboard(case_root, CASE, as_of=AS_OF, debounce=0, dynamic_runner=runner)
    panel = dash.dynamic_panel
    panel.job.background = True
    assert panel.run() is None and started.wait(5)
    assert panel.button.disabled and panel.run() is None  # one run at a time
    assert [b.value for b in panel.chains.bars] == [0.005, 0.015]
    assert "sampling (20%)" in panel.job.message.value
    dash.weight_sliders["drift"].value = 0.5  # the dashboard stays live meanwhile
    np.testing.assert_allclose(dash.forecast.prior, [0.2, 0.4, 0.4])
    panel.job.cancel_button.click()
    panel.job.thread.join(5)
    assert "cancelled" in panel.status.value and not panel.button.disabled
    assert panel.chart.value == "" and panel.job.bar.bar_style == "warning"
