"""Benchmark the exact and PyMC engines on the bundled case.

``python benchmarks/bench_engines.py [--json] [--reruns 20] [--fresh 3] [--recompiles 2]`` prints

* ``exact_ms_median`` - exact forecast plus trail (median of 50);
* ``exact_ms_median`` / ``exact_ms_median_tempered`` - the exact engine on the bundled
  case, reliability read as a mixture (default) or tempered
* ``exact_3000_items_s`` - a 3,000-row event log of one watched indicator, with its trail;
  ``exact_1000_items_wander_s`` - 1,000 such rows under ``wander: 2``
* ``exact_wander_s`` / ``exact_wander_walk_s`` - the bundled case with ``wander: 2``, and
  with ``walk: 1.3`` as well (median of 3)
* ``far_tail_ms_max`` - the slowest Poisson log likelihood of a far bound (``>= 1e9``,
  ``>= 1e12``, ``<= 3``) on a 2,049-point grid of means; ``far_bound_forecast_ms_max`` - the
  slowest exact forecast of the bundled case with one such item added
* ``pymc_first_forecast_s`` - a PyMC forecast in a fresh process, imports included
  (median of ``--fresh`` processes; compile caches warm after the first);
* ``pymc_rerun_s_median`` - in-process reruns without recompiling, alternating a prior
  change (an expectation edited in the priors file) and adding an evidence item;
* ``pymc_recompile_s_median`` - the naive path: rebuild and compile the model, then sample;
* the largest gap between the engines' scenario probabilities, and the diagnostics;
* ``paths_*`` - the same figures for the PyMC engine on the time-aware model (latent rate
  paths by sequential Monte Carlo), which reads the bundled case as it is (reports that may
  be false): first forecast in a fresh process, reruns after a prior or evidence change
  with the seed kept (only the slots whose prior or evidence changed are refitted; nothing
  is compiled; ``paths_rerun_prior_s_median`` and ``paths_rerun_evidence_s_median`` each
  kind alone), ``paths_refit_all_s_median`` with a new seed each time (every slot
  refitted), the gap to the exact engine and the diagnostics.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from toolkit.model.case import load_case  # noqa: E402
from toolkit.outputs.forecast import assemble, run_forecast  # noqa: E402

CASE = "russia-iran"
#: The bundled case read with tempered reliability and constant rates: what NUTS runs.
TEMPERED = "\nreliability_reading: tempered\n"
FRESH = (
    "import time; t = time.perf_counter();"
    "from pathlib import Path; from toolkit.model.case import load_case;"
    "from toolkit.outputs.forecast import run_forecast;"
    f"root = Path({str(REPO)!r}); text = (root / 'priors' / '{CASE}.yaml').read_text();"
    f"f = run_forecast(load_case(root, {CASE!r}, priors_text=text + {TEMPERED!r}),"
    " engine='pymc', seed=1);"
    "print(time.perf_counter() - t, f.diagnostics['compile_seconds'])"
)


def tempered_case():
    """The bundled case read with tempered reliability (what the NUTS method runs)."""
    text = (REPO / "priors" / f"{CASE}.yaml").read_text(encoding="utf-8")
    return load_case(REPO, CASE, priors_text=text + TEMPERED)


def exact_ms(case, repeats: int = 50) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_forecast(case, engine="exact", seed=1)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def changing_s(extra: str, repeats: int = 3) -> float:
    """Median seconds of an exact forecast of the bundled case with ``extra`` priors text."""
    text = (REPO / "priors" / f"{CASE}.yaml").read_text(encoding="utf-8")
    case = load_case(REPO, CASE, priors_text=text + extra)
    return exact_ms(case, repeats) / 1000


def exact_many_items_s(items: int = 3000, extra: str = "") -> float:
    """A ledger of one watched indicator's logged events, forecast with its trail.

    ``extra`` is added to the priors file (e.g. ``wander: 2``).
    """
    import datetime as dt
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for sub in ("priors", "evidence"):
            (tmp / sub).mkdir()
        shutil.copytree(REPO / "seeds" / CASE, tmp / "seeds" / CASE)
        text = (REPO / "priors" / f"{CASE}.yaml").read_text(encoding="utf-8")
        (tmp / "priors" / f"{CASE}.yaml").write_text(
            text + "\nwatch:\n  sanctions_pressure: since 2021-01-01\n" + extra,
            encoding="utf-8")
        rows = ["id,reported_on,period_start,period_end,indicator,value,unit,source,"
                "reliability,status"]
        for i in range(items):  # 2021-01-01 to 2026-10-02: all reported before today
            day = (dt.date(2021, 1, 1) + dt.timedelta(days=i * 2100 // items)).isoformat()
            source = f"G{1 + i % 25:02d}"  # rows of one day cite different claims
            rows.append(f"S{i},{day},{day},{day},sanctions_pressure,1,actions,{source},B2,"
                        "active")
        (tmp / "evidence" / f"{CASE}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        case = load_case(tmp, CASE)
        start = time.perf_counter()
        forecast = run_forecast(case, engine="exact", as_of=dt.date(2026, 11, 1))
        assert len(forecast.items) == items
        return time.perf_counter() - start


FAR_ITEMS = [(">=1000000000", "drone_supply", "drones", "E5"),
             (">=1000000000", "drone_supply", "drones", "A1"),
             (">=1000000000000", "munitions_supply", "shells", "B2"),
             ("<=3", "munitions_supply", "shells", "A1")]


def far_tails() -> tuple[float, float]:
    """Slowest far-bound likelihood on a grid (ms) and slowest forecast with one (ms)."""
    import numpy as np

    from toolkit.families.poisson_tails import log_interval_probability

    mean = np.geomspace(1.0, 1e13, 2049)
    tails = []
    for low, high in ((1e9, math.inf), (1e12, math.inf), (0.0, 3.0), (1e9, 1.2e9)):
        start = time.perf_counter()
        log_interval_probability(mean, low, high)
        tails.append((time.perf_counter() - start) * 1e3)
    text = (REPO / "evidence" / f"{CASE}.csv").read_text(encoding="utf-8")
    commas = "," * (text.splitlines()[0].count(",") - 9)
    forecasts = []
    for value, indicator, unit, grade in FAR_ITEMS:
        extra = (text.rstrip("\n") + f"\nX1,2025-01-05,2024-12-01,2024-12-31,{indicator},"
                 f"{value},{unit},G02,{grade},active{commas}\n")
        case = load_case(REPO, CASE, evidence_text=extra)
        start = time.perf_counter()
        run_forecast(case, engine="exact")
        forecasts.append((time.perf_counter() - start) * 1e3)
    return max(tails), max(forecasts)


FRESH_PATHS = FRESH.replace(" + " + repr(TEMPERED), "").replace(
    "f.diagnostics['compile_seconds']", "f.diagnostics['seconds']")


def first_forecast_s(code: str = FRESH) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    total, compile_s = out.stdout.split()[-2:]
    return float(total), float(compile_s)


def edited_case(tmp: Path, factor: float, extra: str = TEMPERED):
    """A copy of the case whose first expectation's upper bound is scaled by ``factor``."""
    for sub in ("priors", "evidence"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
        for path in (REPO / sub).glob(f"{CASE}.*"):
            shutil.copy(path, tmp / sub)
    if not (tmp / "seeds" / CASE).exists():
        shutil.copytree(REPO / "seeds" / CASE, tmp / "seeds" / CASE)
    text = (REPO / "priors" / f"{CASE}.yaml").read_text(encoding="utf-8")
    marker = "high: "
    at = text.index(marker, text.index("expectations:")) + len(marker)
    end = at
    while text[end] in "0123456789.":
        end += 1
    value = float(text[at:end]) * factor
    (tmp / "priors" / f"{CASE}.yaml").write_text(
        text[:at] + f"{value:g}" + text[end:] + extra, encoding="utf-8")
    return load_case(tmp, CASE)


def reruns(case, n: int, extra: str = TEMPERED,
           seed: int | None = None) -> tuple[list[float], list[float]]:
    """Reruns alternating a prior change and an evidence change (seed ``i``, or ``seed``)."""
    from toolkit.inference.engines import get_engine

    items, excluded = case.select(None)
    obs = case.observations(items)
    engine = get_engine("pymc")
    engine.run(case, obs, seed=1)  # compile (or reuse) this structure
    times, compiles = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            start = time.perf_counter()
            if i % 2 == 0:  # a prior change
                changed = edited_case(Path(tmp), 1.0 + 0.05 * (i + 1), extra)
                result = engine.run(changed, obs, seed=i if seed is None else seed)
                assemble(changed, items, excluded, result, "pymc", items[-1].reported_on, i)
            else:  # one more evidence item than the run before it
                result = engine.run(case, obs[:-1] if i % 4 == 1 else obs,
                                    seed=i if seed is None else seed)
            times.append(time.perf_counter() - start)
            compiles.append(result.diagnostics.get("compile_seconds", 0.0))
    return times, compiles


def recompile_s(case, n: int) -> list[float]:
    from toolkit.inference.engines.pymc_model import clear_cache

    times = []
    for i in range(n):
        clear_cache()
        start = time.perf_counter()
        run_forecast(case, engine="pymc", seed=i)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--fresh", type=int, default=3, help="fresh processes to time")
    parser.add_argument("--recompiles", type=int, default=2)
    args = parser.parse_args()
    out: dict[str, object] = {"exact_ms_median": exact_ms(load_case(REPO, CASE))}
    out["exact_ms_median_tempered"] = exact_ms(tempered_case())
    out["exact_3000_items_s"] = exact_many_items_s()
    out["exact_1000_items_wander_s"] = exact_many_items_s(1000, "\nwander: 2\n")
    out["exact_wander_s"] = changing_s("\nwander: 2\n")
    out["exact_wander_walk_s"] = changing_s("\nwander: 2\nwalk: 1.3\n")
    out["far_tail_ms_max"], out["far_bound_forecast_ms_max"] = far_tails()
    case = tempered_case()
    fresh = [first_forecast_s() for _ in range(args.fresh)]
    out["pymc_first_forecast_s"] = statistics.median(total for total, _ in fresh)
    out["pymc_first_forecast_s_max"] = max(total for total, _ in fresh)
    out["pymc_first_compile_s"] = statistics.median(compile_s for _, compile_s in fresh)
    start = time.perf_counter()
    pymc = run_forecast(case, engine="pymc", seed=1)
    out["pymc_in_process_first_s"] = time.perf_counter() - start
    exact = run_forecast(case, engine="exact", seed=1)
    out["max_probability_gap"] = float(np.abs(pymc.probabilities - exact.probabilities).max())
    out["pymc_diagnostics"] = {k: pymc.diagnostics[k] for k in (
        "converged", "r_hat_max", "ess_bulk_min", "ess_tail_min", "divergences",
        "marginal_mcse_max", "sample_seconds")}
    times, compiles = reruns(case, args.reruns)
    out["pymc_rerun_s_median"] = statistics.median(times)
    out["pymc_rerun_s_max"] = max(times)
    out["pymc_rerun_recompiled"] = sum(c > 0 for c in compiles)
    bundled = load_case(REPO, CASE)
    fresh = [first_forecast_s(FRESH_PATHS) for _ in range(args.fresh)]
    out["paths_first_forecast_s"] = statistics.median(total for total, _ in fresh)
    out["paths_first_forecast_s_max"] = max(total for total, _ in fresh)
    paths = run_forecast(bundled, engine="pymc", seed=1)
    exact = run_forecast(bundled, engine="exact", seed=1)
    out["paths_max_probability_gap"] = float(
        np.abs(paths.probabilities - exact.probabilities).max())
    out["paths_diagnostics"] = {k: paths.diagnostics[k] for k in (
        "converged", "r_hat_max", "ess_bulk_min", "ess_tail_min", "marginal_mcse_max",
        "seconds")}
    times, _ = reruns(bundled, args.reruns, extra="", seed=1)
    out["paths_rerun_s_median"] = statistics.median(times)
    out["paths_rerun_s_max"] = max(times)
    out["paths_rerun_prior_s_median"] = statistics.median(times[0::2])  # see reruns()
    out["paths_rerun_evidence_s_median"] = statistics.median(times[1::2])
    times, _ = reruns(bundled, max(args.reruns // 4, 2), extra="")  # a new seed: all refit
    out["paths_refit_all_s_median"] = statistics.median(times)
    rebuild = recompile_s(case, args.recompiles)
    out["pymc_recompile_s_median"] = statistics.median(rebuild)
    out["cpu_load_1min"] = float(Path("/proc/loadavg").read_text().split()[0]) \
        if Path("/proc/loadavg").exists() else None
    if args.json:
        print(json.dumps(out, indent=2))
        return
    width = max(map(len, out))
    for key, value in out.items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")


if __name__ == "__main__":
    main()
