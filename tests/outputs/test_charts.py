"""Charts are checked on their data: what is drawn equals what the forecast says."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import matplotlib.dates as mdates
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.legend import Legend
from matplotlib.text import Text
from scipy import stats

from toolkit.outputs.charts import (
    attribution_chart,
    inline_svg,
    predicted_interval,
    predictions_chart,
    prior_posterior_chart,
    probability_chart,
    save_figure,
    trail_chart,
)
from toolkit.outputs.charts.predictions import observed_value
from toolkit.outputs.charts.trail import spread, trail_dates
from toolkit.outputs.forecast import run_forecast

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def forecast(bundled_case):
    return run_forecast(bundled_case, as_of=AS_OF)


def by_gid(figure, prefix):
    return [a for a in figure.findobj() if (a.get_gid() or "").startswith(prefix)]


def rendered(figure):
    FigureCanvasAgg(figure)
    figure.draw_without_rendering()
    return figure.canvas.get_renderer()


def visible_texts(figure):
    """Texts that are drawn (tick labels only for ticks inside the view limits)."""
    ticks, drawn = set(), []
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ticks.update({id(tick.label1), id(tick.label2)})
            if ax.axison:
                for tick in axis._update_ticks():
                    drawn += [tick.label1, tick.label2]
    texts = [t for t in figure.findobj(Text) if id(t) not in ticks] + drawn
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


ALL_CHARTS = {
    "probabilities": lambda f, c: probability_chart(f),
    "trail": lambda f, c: trail_chart(f),
    "prior-posterior": lambda f, c: prior_posterior_chart(f),
    "attribution": attribution_chart,
    "predictions": predictions_chart,
}


def test_probability_bars_and_intervals_equal_the_forecast(forecast):
    figure = probability_chart(forecast)
    for k, sid in enumerate(forecast.scenario_ids):
        (bar,) = by_gid(figure, f"bar-{sid}")
        assert bar.get_width() == pytest.approx(forecast.probabilities[k], abs=1e-12)
        (errors,) = by_gid(figure, f"interval-{sid}")
        segment = errors.get_segments()[0]
        assert sorted(segment[:, 0]) == pytest.approx(sorted(forecast.intervals[k]), abs=1e-12)
    labels = [t.get_text().replace("\n", " ") for t in figure.axes[0].get_yticklabels()]
    assert labels == forecast.labels
    hatches = {by_gid(figure, f"bar-{sid}")[0].get_hatch() for sid in forecast.scenario_ids}
    assert len(hatches) == len(forecast.scenario_ids), "greyscale needs one hatch per scenario"


def test_titles_name_case_date_engine_and_run(forecast):
    saved = dataclasses.replace(forecast, extras={"run_id": "20250630-abc123"})
    for name, draw in ALL_CHARTS.items():
        figure = draw(saved, None) if name != "predictions" else None
        if figure is None:
            continue
        title = figure._suptitle.get_text()
        for part in ("russia-iran", "2025-06-30", "exact engine", "run 20250630-abc123"):
            assert part in title, (name, part)
        source = by_gid(figure, "source-line")[0].get_text()
        assert source.startswith("Source: scenario-toolkit")
    assert "unsaved run" in probability_chart(forecast)._suptitle.get_text()


@pytest.mark.parametrize("name", list(ALL_CHARTS))
def test_no_text_is_cut_off_or_covered(name, forecast, bundled_case):
    long = dataclasses.replace(forecast, title="A deliberately long case title " * 4)
    figure = ALL_CHARTS[name](long, bundled_case)
    renderer = rendered(figure)
    box = figure.bbox
    for text in visible_texts(figure):
        extent = text.get_window_extent(renderer)
        assert extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1, (name, text.get_text())
        assert extent.y0 >= box.y0 - 1 and extent.y1 <= box.y1 + 1, (name, text.get_text())
    source = by_gid(figure, "source-line")[0].get_window_extent(renderer)
    for legend in figure.findobj(Legend):
        assert not source.overlaps(legend.get_window_extent(renderer)), name
    assert not source.overlaps(figure._suptitle.get_window_extent(renderer))


def test_trail_starts_at_the_prior_and_ends_at_the_posterior(forecast):
    figure = trail_chart(forecast)
    dates = mdates.date2num(trail_dates(forecast))
    for k, sid in enumerate(forecast.scenario_ids):
        (line,) = by_gid(figure, f"trail-{sid}")
        y = np.asarray(line.get_ydata(), float)
        assert y[0] == pytest.approx(forecast.prior[k], abs=1e-12)
        assert y[-1] == pytest.approx(forecast.probabilities[k], abs=1e-12)
        np.testing.assert_allclose(y, forecast.trail[:, k])
        np.testing.assert_allclose(np.asarray(line.get_xdata(), float), dates)
    assert list(dates[1:]) == list(mdates.date2num([i.reported_on for i in forecast.items]))


def test_trail_annotates_every_item_id_without_overlap(forecast):
    figure = trail_chart(forecast)
    labels = by_gid(figure, "item-id")
    assert [t.get_text() for t in labels] == forecast.item_ids
    renderer = rendered(figure)
    boxes = [Text.get_window_extent(t, renderer) for t in labels]  # text only, no leader
    for a, b in zip(boxes, boxes[1:], strict=False):
        assert a.x1 <= b.x0 + 0.5, "item ids overlap"


def test_trail_shows_the_horizon(forecast):
    figure = trail_chart(forecast)
    horizon = mdates.date2num(forecast.horizon)
    texts = [t.get_text() for t in visible_texts(figure)]
    assert any(forecast.horizon.isoformat() in t for t in texts)
    lines = [ln for ax in figure.axes for ln in ax.get_lines()
             if len(ln.get_xdata()) == 2 and np.all(np.asarray(ln.get_xdata()) == horizon)]
    assert lines, "no vertical line at the horizon"


def test_trail_without_evidence_is_just_the_prior(bundled_case):
    empty = run_forecast(bundled_case, as_of=dt.date(2000, 1, 1))
    figure = trail_chart(empty)
    assert by_gid(figure, "item-id") == []
    for k, sid in enumerate(empty.scenario_ids):
        (line,) = by_gid(figure, f"trail-{sid}")
        assert list(line.get_ydata()) == pytest.approx([empty.prior[k]])


def test_spread_keeps_labels_apart_and_inside():
    out = spread([1.0, 1.0, 1.0, 5.0, 9.9], gap=0.5, low=0.0, high=10.0)
    assert all(b - a >= 0.5 - 1e-12 for a, b in zip(out, out[1:], strict=False))
    assert out[-1] <= 10.0 and out[0] >= 0.0


def test_attribution_bars_equal_the_attribution(forecast, bundled_case):
    figure = attribution_chart(forecast, bundled_case)
    attribution = forecast.attribution
    for i, item_id in enumerate(forecast.item_ids):
        for k, sid in enumerate(forecast.scenario_ids):
            (bar,) = by_gid(figure, f"attr-{item_id}-{sid}")
            assert bar.get_width() == pytest.approx(attribution[i, k], abs=1e-12)
    ticks = [t.get_text().split()[0] for t in figure.axes[0].get_yticklabels()]
    assert ticks == forecast.item_ids


def test_prior_posterior_bar_heights(forecast):
    figure = prior_posterior_chart(forecast)
    for k, sid in enumerate(forecast.scenario_ids):
        assert by_gid(figure, f"prior-{sid}")[0].get_height() == pytest.approx(forecast.prior[k])
        assert by_gid(figure, f"posterior-{sid}")[0].get_height() == pytest.approx(
            forecast.probabilities[k])


def _expected_interval(case, indicator, scenario):
    kind = case.indicators[indicator].kind
    params = case.prior_params(indicator, scenario)
    if kind in ("count", "occurrence"):
        dist = stats.gamma(params[0], scale=1 / params[1])
    elif kind == "amount":
        dist = stats.lognorm(s=math.hypot(params[1], params[2]), scale=math.exp(params[0]))
    else:
        dist = stats.beta(*params)
    return dist.ppf(0.05), dist.ppf(0.95)


def test_predictions_draw_prior_intervals_and_observed_rates(forecast, bundled_case):
    figure = predictions_chart(forecast, bundled_case)
    used = {item.indicator for item in forecast.items}
    for indicator in used:
        for sid in forecast.scenario_ids:
            (bar,) = by_gid(figure, f"pred-{indicator}-{sid}")
            low, high = _expected_interval(bundled_case, indicator, sid)
            assert bar.get_x() == pytest.approx(low, rel=1e-6)
            assert bar.get_x() + bar.get_width() == pytest.approx(high, rel=1e-6)
            assert predicted_interval(bundled_case, indicator, sid)[0] == pytest.approx(low)
    items = {item.id: item for item in forecast.items}

    def months(item):
        return ((item.period_end - item.period_start).days + 1) / (365.25 / 12)

    (e08,) = by_gid(figure, "obs-E08")  # 300000 shells, exact
    assert list(e08.get_xdata()) == pytest.approx([300000 / months(items["E08"])])
    (e16,) = by_gid(figure, "obs-E16")  # 200-900 drones: a range, drawn as a range
    assert list(e16.get_xdata()) == pytest.approx([200 / months(items["E16"]),
                                                   900 / months(items["E16"])])
    assert {t.get_gid() for t in by_gid(figure, "obs-")} == {f"obs-{i}" for i in items}


def test_observed_shapes_follow_the_value_grammar(forecast, bundled_case):
    kinds = {i.id: bundled_case.indicators[i.indicator].family for i in forecast.items}
    shapes = {o.item_id: observed_value(o, kinds[o.item_id]).shape
              for o in bundled_case.observations(forecast.items)}
    assert shapes["E08"] == "point"
    assert shapes["E16"] == "range"
    assert "E04" not in shapes  # read with E16, whose period holds it
    (e04,) = [i for i in bundled_case.evidence if i.id == "E04"]
    (obs,) = bundled_case.observations([e04])
    assert observed_value(obs, kinds["E16"]).shape == "at least"  # >=10 drones/day
    assert shapes["E10"] == "at least"  # yes: at least one event
    assert shapes["E17"] == "at most"  # no: fewer than one event in the window


def test_case_text_is_never_mathtext(forecast):
    odd = dataclasses.replace(forecast, labels=["$x^2$ costs $5", "<b>bold</b>", "a\\b"],
                              title="Case with $dollars$")
    figure = probability_chart(odd)
    labels = [t.get_text().replace("\n", " ") for t in figure.axes[0].get_yticklabels()]
    assert labels[0] == r"\$x^2\$ costs \$5"
    rendered(figure)  # would raise on bad mathtext


def test_save_figure_formats_are_deterministic_and_embed_truetype(forecast, tmp_path):
    for ext in ("png", "svg", "pdf"):
        first = save_figure(probability_chart(forecast), tmp_path / f"a.{ext}").read_bytes()
        second = save_figure(probability_chart(forecast), tmp_path / f"b.{ext}").read_bytes()
        assert first == second, ext
    assert b"FontFile2" in (tmp_path / "a.pdf").read_bytes()  # TrueType (fonttype 42)
    assert not list(tmp_path.glob(".*.tmp"))


def test_inline_svg_is_standalone_markup(forecast):
    svg = inline_svg(probability_chart(forecast), salt="chart-1")
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert "http" not in svg and "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert 'id="figure_1"' not in svg and 'id="chart-1-figure_1"' in svg


def test_a_label_starting_with_an_underscore_stays_in_the_legend() -> None:
    import matplotlib.pyplot as plt

    from toolkit.outputs.charts.style import plain

    figure, axes = plt.subplots()
    axes.plot([0, 1], [0, 1], label=plain("_hidden scenario"))
    axes.plot([0, 1], [1, 0], label=plain("cost $5"))
    texts = [t.get_text() for t in axes.legend().get_texts()]
    assert texts == ["\u200b_hidden scenario", r"cost \$5"]
    plt.close(figure)
