"""Dynamic model speed: first forecast in this process, then reruns without recompiling.

The first :func:`toolkit.outputs.dynamic_forecast.run_dynamic` call compiles the PyMC model with
nutpie (its
compile caches on disk make later processes faster); every later call with the same
structure (regimes, possible transitions, zero weights) only swaps the data and resamples.
The reruns alternate real changes: an earlier as-of date (fewer items, a shorter emission
matrix), new scenario weights, and the full evidence again, each with a new seed. Prints one
JSON object with the timings, the sampler settings and whether every run converged.

Usage: ``.venv/bin/python benchmarks/bench_dynamic.py [--repeat 6] [--draws 1500]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from pathlib import Path

import numpy as np

from toolkit.model.case import load_case
from toolkit.outputs.dynamic_forecast import run_dynamic

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the benchmark and print its JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--draws", type=int, default=1500)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--root", type=Path, default=REPO)
    parser.add_argument("--case", default="russia-iran")
    args = parser.parse_args()
    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    case = load_case(args.root, args.case)
    as_of = dt.date(2026, 11, 1)
    weights = np.asarray(case.priors.weights)
    start = time.perf_counter()
    first = run_dynamic(case, as_of=as_of, seed=1, **settings)
    first_seconds = time.perf_counter() - start
    changes = [
        ("earlier as-of date (2023-06-01)", {"as_of": dt.date(2023, 6, 1)}),
        ("new scenario weights", {"as_of": as_of, "weights": weights[::-1].copy()}),
        ("full evidence again", {"as_of": as_of}),
    ]
    reruns = []
    for i in range(args.repeat):
        what, options = changes[i % len(changes)]
        start = time.perf_counter()
        result = run_dynamic(case, seed=100 + i, **options, **settings)
        reruns.append({
            "change": what,
            "seconds": time.perf_counter() - start,
            "sample_seconds": result.diagnostics["sample_seconds"],
            "compile_seconds": result.diagnostics["compile_seconds"],
            "converged": result.converged,
            "r_hat_max": result.diagnostics["r_hat_max"],
            "ess_bulk_min": result.diagnostics["ess_bulk_min"],
        })
    seconds = [r["seconds"] for r in reruns]
    print(json.dumps({
        "benchmark": "dynamic model rerun",
        "case": args.case,
        "months": len(first.months),
        "evidence_items": len(first.items),
        **settings,
        "cores": first.diagnostics.get("cores"),
        "first_forecast_seconds": first_seconds,
        "first_compile_seconds": first.diagnostics["compile_seconds"],
        "first_sample_seconds": first.diagnostics["sample_seconds"],
        "rerun_seconds_median": statistics.median(seconds),
        "rerun_seconds_min": min(seconds),
        "rerun_sample_seconds_median": statistics.median(r["sample_seconds"] for r in reruns),
        "recompiled_on_rerun": any(r["compile_seconds"] > 0 for r in reruns),
        "all_converged": first.converged and all(r["converged"] for r in reruns),
        "reruns": reruns,
    }, indent=2))


if __name__ == "__main__":
    main()
