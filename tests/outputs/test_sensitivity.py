import datetime as dt

import numpy as np
import pytest

from toolkit.inference.engines import get_engine
from toolkit.model.variations import vary
from toolkit.outputs.charts.tornado import tornado_chart
from toolkit.outputs.forecast import assemble, run_forecast
from toolkit.outputs.sensitivity import sensitivity
from toolkit.outputs.variants import Variants

AS_OF = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def result(bundled_case):
    return sensitivity(bundled_case, AS_OF)


def full(case, changes) -> np.ndarray:
    """An independent computation: the whole exact forecast of the changed case."""
    return run_forecast(vary(case, changes), "exact", AS_OF).probabilities


def test_variants_agree_with_whole_forecasts(bundled_case) -> None:
    variants = Variants(bundled_case, AS_OF)
    np.testing.assert_allclose(variants.base, full(bundled_case, {}), rtol=0, atol=1e-12)
    for changes in ({"expectations.drone_supply.drift.high": 400.0},
                    {"expectations.financing.transactional.low": 0.3,
                     "scenarios.drift.weight": 0.6},
                    {"bounds.within": 6.0}, {"wander": 2.0}):
        np.testing.assert_allclose(variants.probabilities(changes),
                                   full(bundled_case, changes), rtol=0, atol=1e-12)
    runs = variants.reruns
    variants.probabilities({"scenarios.transactional.weight": 2.0})
    assert variants.reruns == runs  # a weight needs no rerun


def test_variants_read_the_items_they_are_given(bundled_case) -> None:
    items, excluded = bundled_case.select(AS_OF)
    subset = [item for item in items if item.indicator != "drone_supply"]
    assert 0 < len(subset) < len(items)

    def whole(case) -> np.ndarray:  # the full exact forecast on the subset only
        result = get_engine("exact").run(case, case.observations(subset, AS_OF), 0)
        return assemble(case, subset, excluded, result, "exact", AS_OF, 0).probabilities

    variants = Variants(bundled_case, AS_OF, items=subset)
    np.testing.assert_allclose(variants.base, whole(bundled_case), rtol=0, atol=1e-12)
    assert not np.allclose(variants.base, Variants(bundled_case, AS_OF).base, atol=1e-3)
    change = {"expectations.financing.transactional.low": 0.3}
    np.testing.assert_allclose(variants.probabilities(change),
                               whole(vary(bundled_case, change)), rtol=0, atol=1e-12)


def test_each_end_of_the_tornado_is_the_forecast_with_that_change(bundled_case, result) -> None:
    lead = result.lead
    for influence in result.top(6):
        q = influence.quantity
        for value, got in ((q.low, influence.at_low), (q.high, influence.at_high)):
            np.testing.assert_allclose(got, full(bundled_case, {q.path: value}), atol=1e-12)
        assert influence.swing == pytest.approx(abs(influence.at_high[lead]
                                                    - influence.at_low[lead]))
    swings = [i.swing for i in result.influences]
    assert swings == sorted(swings, reverse=True)
    assert result.influences[0].swing > 0.05


def test_a_weights_tipping_point_is_the_closed_form(bundled_case, result) -> None:
    lead = result.lead
    p, w = result.probabilities, np.asarray(bundled_case.priors.weights)
    m = p / w  # proportional to the marginal likelihoods
    for k, scenario in enumerate(bundled_case.priors.scenarios):
        influence = next(i for i in result.influences
                         if i.quantity.path == f"scenarios.{scenario.id}.weight")
        raw = scenario.weight / w[k]  # file weights are w times this
        others = [j for j in range(len(w)) if j != lead]
        if k == lead:
            expected = max(w[j] * m[j] for j in others) / m[lead] * raw
        else:
            expected = w[lead] * m[lead] / m[k] * raw
        if not 1 / 2 ** 3.5 <= expected / scenario.weight <= 2 ** 3.5:
            assert influence.tipping is None
            continue
        assert influence.tipping == pytest.approx(expected, rel=2e-3)


def test_the_lead_changes_at_each_tipping_point(bundled_case, result) -> None:
    lead = result.lead
    tipped = [i for i in result.influences if i.tipping is not None
              and i.quantity.role == "bound"]
    assert tipped
    for influence in tipped[:3]:
        q, at = influence.quantity, influence.tipping
        inside = at * (q.value / at) ** 0.01  # a hair nearer the saved value
        assert np.argmax(full(bundled_case, {q.path: inside})) == lead
        after = full(bundled_case, {q.path: at})
        assert result.scenario_ids[int(np.argmax(after))] == influence.tipping_to


def test_the_table_and_json_carry_every_input(result) -> None:
    table = result.table()
    assert len(table) == len(result.influences) == len(result.to_dict()["inputs"])
    first = result.to_dict()["inputs"][0]
    assert first["swing"] == pytest.approx(table["swing"].iloc[0])
    assert first["headline_range"][0] == pytest.approx(float(result.influences[0].at_low[
        result.lead]))


def test_the_tornado_draws_one_bar_pair_per_shown_input(result) -> None:
    figure = tornado_chart(result, 5)
    gids = {p.get_gid() for p in figure.axes[0].patches if p.get_gid()}
    assert gids == {f"tornado-{i.quantity.path}-{side}" for i in result.top(5)
                    for side in ("low", "high")}
    bars = {p.get_gid(): p for p in figure.axes[0].patches}
    top = result.top(1)[0]
    bar = bars[f"tornado-{top.quantity.path}-low"]
    assert bar.get_x() + bar.get_width() == pytest.approx(float(top.at_low[result.lead]))
