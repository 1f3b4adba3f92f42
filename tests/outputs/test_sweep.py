import datetime as dt

import numpy as np
import pandas as pd
import pytest

from toolkit.core.errors import CaseError
from toolkit.model.variations import vary
from toolkit.outputs.forecast import run_forecast
from toolkit.outputs.sweep import MAX_POINTS, Axis, design, parse_axis, sweep, write_table
from toolkit.outputs.tasks import Runner

AS_OF = dt.date(2026, 6, 1)


def test_parse_axis() -> None:
    assert parse_axis("scenarios.drift.weight=0.1:0.5:5") == Axis(
        "scenarios.drift.weight", 0.1, 0.5, 5)
    assert parse_axis("wander=1.5:3").count == 11
    for bad, words in (("wander", "is not PATH=LOW:HIGH:N"), ("wander=3:1:4", "below HIGH"),
                       ("wander=a:2:3", "must be numbers"), ("wander=1:2:1", "from 2 to"),
                       ("wander=1:inf:3", "finite")):
        with pytest.raises(ValueError, match=words):
            parse_axis(bad)


def test_designs() -> None:
    axes = [Axis("a", 0, 1, 3), Axis("b", 10, 20, 2)]
    grid = design(axes)
    assert grid == [{"a": a, "b": b} for a in (0, 0.5, 1) for b in (10, 20)]
    first, again = design(axes, "random", 50, seed=4), design(axes, "random", 50, seed=4)
    assert first == again and len(first) == 50
    assert all(0 <= s["a"] <= 1 and 10 <= s["b"] <= 20 for s in first)
    assert design(axes, "random", 50, seed=5) != first
    with pytest.raises(ValueError, match="more than"):
        design([Axis("a", 0, 1, 1000)] * 2)
    with pytest.raises(ValueError, match="--points"):
        design(axes, "random", MAX_POINTS + 1)


def test_a_serial_sweep_is_the_forecast_of_each_setting(bundled_case) -> None:
    settings = design([parse_axis("expectations.drone_supply.drift.high=100:400:3"),
                       parse_axis("scenarios.drift.weight=0.2:0.6:2")])
    table = sweep(bundled_case, settings, AS_OF)
    ids = bundled_case.priors.scenario_ids
    assert list(table.columns) == [*settings[0], *(f"p_{s}" for s in ids), "leading"]
    for row, changes in zip(table.itertuples(index=False), settings, strict=True):
        expected = run_forecast(vary(bundled_case, changes), "exact", AS_OF).probabilities
        np.testing.assert_allclose(row[2:5], expected, atol=1e-12)
        assert row.leading == ids[int(np.argmax(expected))]


def test_a_bad_setting_is_refused_before_any_work(bundled_case) -> None:
    settings = [{"expectations.drone_supply.drift.high": h} for h in (100.0, 0.5)]
    with pytest.raises(CaseError, match="must be below high"):
        sweep(bundled_case, settings, AS_OF)


def test_a_sweep_on_a_local_cluster_gives_the_serial_numbers(bundled_case) -> None:
    settings = design([parse_axis("expectations.financing.drift.high=0.5:4:12"),
                       parse_axis("bounds.chance=0.2:0.8:5")])  # 60 settings, 3 chunks
    serial = sweep(bundled_case, settings, AS_OF)
    seen = []
    with Runner(None, workers=2, progress=lambda n, m: seen.append((n, m))) as runner:
        assert runner.client.scheduler_info()["address"].startswith("tcp://127.0.0.1:")
        assert len(runner.client.scheduler_info()["workers"]) == 2
        distributed = sweep(bundled_case, settings, AS_OF, runner=runner)
    pd.testing.assert_frame_equal(serial, distributed, check_exact=True)
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_tables_are_written_as_csv_or_parquet(tmp_path, bundled_case) -> None:
    table = sweep(bundled_case, design([parse_axis("wander=1.5:3:3")]), AS_OF)
    for name in ("t.csv", "t.parquet"):
        path = write_table(table, tmp_path / name)
        back = pd.read_csv(path) if name.endswith("csv") else pd.read_parquet(path)
        pd.testing.assert_frame_equal(back, table, check_exact=False, rtol=1e-12)
    with pytest.raises(ValueError, match="csv or .parquet"):
        write_table(table, tmp_path / "t.xlsx")
    assert not (tmp_path / "t.xlsx").exists()


def test_an_unreachable_scheduler_is_named_not_a_traceback() -> None:
    with pytest.raises(CaseError) as caught, Runner("tcp://127.0.0.1:9", connect_timeout=1):
        pass
    problem = caught.value.problems[0]
    assert problem.field == "--scheduler"
    assert "no Dask scheduler answered at 'tcp://127.0.0.1:9'" in problem.message
    assert "tcp://HOST:8786" in problem.fix
