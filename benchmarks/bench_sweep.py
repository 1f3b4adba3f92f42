"""Throughput of sweeps and rolling backtests, serially and on a 2-worker Dask LocalCluster.

A 1,000-point random sweep of the bundled case with the exact engine over three quantities
(an expectation bound of drone supply, one of financing, a scenario weight: every point is a
new setting, so each needs two indicator reruns), and a 24-month rolling backtest. Each runs
serially in this process and on a ``LocalCluster`` of two single-threaded worker processes;
the cluster's start-up is timed on its own. Prints one JSON object; ``make bench`` runs it.

Usage: ``.venv/bin/python benchmarks/bench_sweep.py [--points 1000] [--months 24]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import pandas as pd

from toolkit.model.case import load_case
from toolkit.model.questions import load_questions
from toolkit.outputs.backtest import add_month, rolling_backtest
from toolkit.outputs.sweep import design, parse_axis, sweep
from toolkit.outputs.tasks import Runner

REPO = Path(__file__).resolve().parents[1]
AXES = ("expectations.drone_supply.drift.high=100:600", "expectations.financing.transactional."
        "low=0.3:1.5", "scenarios.drift.weight=0.1:0.6")
AS_OF = dt.date(2026, 6, 1)
START = dt.date(2023, 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--months", type=int, default=24)
    args = parser.parse_args()
    case = load_case(REPO, "russia-iran")
    questions = load_questions(case, None)
    settings = design([parse_axis(a) for a in AXES], "random", args.points, seed=1)
    end = add_month(START, args.months - 1)
    out: dict[str, object] = {"sweep_points": args.points, "rolling_months": args.months}

    start = time.perf_counter()
    serial = sweep(case, settings, AS_OF)
    out["sweep_serial_s"] = time.perf_counter() - start
    start = time.perf_counter()
    rolling_serial = rolling_backtest(case, questions, START, end)
    out["rolling_serial_s"] = time.perf_counter() - start

    start = time.perf_counter()
    with Runner("local", workers=2) as runner:
        out["cluster_start_s"] = time.perf_counter() - start
        start = time.perf_counter()
        distributed = sweep(case, settings, AS_OF, runner=runner)
        out["sweep_cluster_s"] = time.perf_counter() - start
        start = time.perf_counter()
        rolling_distributed = rolling_backtest(case, questions, START, end, runner=runner)
        out["rolling_cluster_s"] = time.perf_counter() - start
    pd.testing.assert_frame_equal(serial, distributed, check_exact=True)
    assert rolling_serial.to_dict() == rolling_distributed.to_dict()
    out["identical"] = True
    for name in ("sweep", "rolling"):
        unit = args.points if name == "sweep" else args.months
        out[f"{name}_serial_per_s"] = unit / out[f"{name}_serial_s"]
        out[f"{name}_cluster_per_s"] = unit / out[f"{name}_cluster_s"]
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()},
                     indent=2))


if __name__ == "__main__":
    main()
