"""Compare the command line's JSON outputs of two versions of the toolkit, case by case.

A refactoring must not change a number. This script runs ``forecast`` (exact engine, and the
PyMC engine with a fixed seed), ``backtest``, ``watch`` and ``forecast --model dynamic`` on
the bundled case and on random variants of it, once with an earlier revision of the code
(extracted with ``git archive`` into a scratch folder and put first on ``PYTHONPATH``) and
once with the working tree, and compares the JSON: numbers within ``--tol`` (1e-12 by
default; the sampled outputs must be identical), every other value equal. Timings, run ids
and versions are left out of the comparison.

The random cases keep the bundled case's indicators and item count, so the PyMC and dynamic
models keep their structure and compile once; their weights, expectations, evidence values,
periods and grades are drawn from a seeded generator. Each sampled command is run once
before it is compared, so that both versions read warm compile caches (a cold PyTensor cache
can change the last digits of a PyMC run, an effect outside this comparison).

Usage::

    .venv/bin/python benchmarks/compare_outputs.py --before e9ffd11 [--after HEAD] [--cases 5]

Exits 0 when every output agrees, 1 otherwise, listing the first differences.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CASE = "russia-iran"
AS_OF = "2026-12-01"
#: Keys whose values depend on the machine, the clock or the code version, not the model.
VOLATILE = {"seconds", "compile_seconds", "sample_seconds", "run_id", "toolkit_version",
            "versions", "created", "created_at", "cores"}
#: Keys the restructuring renamed on purpose (the dynamic model's diagnostics now use the
#: PyMC engine's names), and keys it added; the earlier output is read with these names.
RENAMED = {"max_r_hat": "r_hat_max", "min_ess_bulk": "ess_bulk_min",
           "min_ess_tail": "ess_tail_min", "min_ess": "ess_min"}
ADDED = {"problems"}
GRADES = ["A1", "A2", "B2", "B3", "C3", "D4", "E5", "F6", "0.7", "0.3"]


def commands(fast: bool) -> dict[str, tuple[list[str], bool]]:
    """Name -> (arguments after ``scenarios``, whether the output is sampled)."""
    pymc = ["--draws", "200", "--tune", "200", "--chains", "2"] if fast else ["--draws", "400"]
    dyn = ["--draws", "200", "--tune", "200", "--chains", "2"] if fast else []
    return {
        "forecast-exact": (["forecast", CASE, "--json", "--no-save", "--as-of", AS_OF], False),
        "backtest": (["backtest", CASE, "--json", "--as-of", "2023-07-01"], False),
        "backtest-rolling": (["backtest", CASE, "--json", "--rolling", "--until", "2024-06-30"],
                             False),
        "watch": (["watch", CASE, "--json", "--as-of", AS_OF], False),
        "forecast-pymc": (["forecast", CASE, "--json", "--no-save", "--as-of", AS_OF,
                           "--engine", "pymc", "--seed", "7", *pymc], True),
        "forecast-dynamic": (["forecast", CASE, "--json", "--as-of", AS_OF, "--model", "dynamic",
                              "--seed", "7", *dyn], True),
    }


def make_case(root: Path, seed: int) -> None:
    """A random variant of the bundled case under ``root`` (``seed`` 0: the bundled case)."""
    for sub in ("priors", "evidence", "questions"):
        (root / sub).mkdir(parents=True)
    shutil.copytree(REPO / "seeds" / CASE, root / "seeds" / CASE)
    shutil.copy(REPO / "questions" / f"{CASE}.yaml", root / "questions")
    priors = (REPO / "priors" / f"{CASE}.yaml").read_text(encoding="utf-8")
    rows = list(csv.DictReader((REPO / "evidence" / f"{CASE}.csv").open(encoding="utf-8")))
    if seed:
        rng = random.Random(seed)
        priors = _perturb_priors(priors, rng)
        rows = [_perturb_row(row, rng) for row in rows]
    (root / "priors" / f"{CASE}.yaml").write_text(priors, encoding="utf-8")
    with (root / "evidence" / f"{CASE}.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _perturb_priors(text: str, rng: random.Random) -> str:
    """New weights and expectation bounds, line by line (the file's layout is kept)."""
    import re

    out = []
    for line in text.splitlines():
        if re.match(r"\s+weight: [0-9.]+", line):
            line = re.sub(r"weight: [0-9.]+", f"weight: {rng.uniform(0.05, 1):.3f}", line)
        match = re.search(r"\{low: *([0-9.]+), *high: *([0-9.]+)", line)
        if match:
            low, high = float(match.group(1)), float(match.group(2))
            if high < 1 and "per:" not in line:  # a share interval stays inside (0, 1)
                low = min(max(low * rng.uniform(0.6, 1.4), 0.01), 0.9)
                high = min(max(high, low + 0.05), 0.99)
            else:
                low *= rng.uniform(0.3, 3)
                high = max(high * rng.uniform(0.3, 3), low * 1.5)
            line = line.replace(match.group(0), f"{{low: {low:.4g}, high: {high:.4g}")
        out.append(line)
    return "\n".join(out) + "\n"


def _perturb_row(row: dict[str, str], rng: random.Random) -> dict[str, str]:
    """New value (same grammar), grade and sometimes status of one evidence row."""
    import re

    row = dict(row)
    value = row["value"]
    if row["unit"] == "statements":  # a signal: 0 or 1
        row["value"] = rng.choice(["0", "1"])
        value = ""
    factor = rng.uniform(0.2, 5)
    if re.fullmatch(r"[0-9]+", value):
        row["value"] = str(max(1, round(int(value) * factor)))
    elif re.fullmatch(r"[0-9.]+", value):
        row["value"] = f"{float(value) * factor:.3g}"
    elif m := re.fullmatch(r"([0-9]+)-([0-9]+)", value):
        low = max(1, round(int(m.group(1)) * factor))
        row["value"] = f"{low}-{low + round((int(m.group(2)) - int(m.group(1))) * factor)}"
    elif m := re.fullmatch(r">=([0-9]+)", value):
        row["value"] = f">={max(1, round(int(m.group(1)) * factor))}"
    elif value in ("yes", "no"):
        row["value"] = rng.choice(["yes", "no"])
    row["reliability"] = rng.choice(GRADES)
    if rng.random() < 0.1:
        row["status"] = "retracted"
    return row


def extract(revision: str, folder: Path) -> Path:
    """``toolkit/`` as of ``revision``, in ``folder`` (returned)."""
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "toolkit"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def run(tree: Path, root: Path, args: list[str]) -> Any:
    """Run ``python -m toolkit ARGS --root ROOT`` with ``tree`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-m", "toolkit", *args, "--root", str(root)],
                          capture_output=True, text=True, env=env, cwd=root, check=False)
    if done.returncode != 0:
        return {"exit": done.returncode, "stderr": done.stderr.strip().splitlines()[-3:]}
    return json.loads(done.stdout)


def differences(a: Any, b: Any, tol: float, path: str = "") -> list[str]:
    """Where ``a`` and ``b`` differ (numbers beyond ``tol``, absolute or relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        a = {RENAMED.get(k, k): v for k, v in a.items()}
        out = [f"{path}/{k}: only in one" for k in sorted(set(a) ^ set(b))
               if k not in VOLATILE and not (k in ADDED and k in b)]
        for key in sorted(set(a) & set(b)):
            if key not in VOLATILE:
                out += differences(a[key], b[key], tol, f"{path}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: lengths {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in differences(x, y, tol, f"{path}[{i}]")]
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        if a == b or (math.isnan(a) and math.isnan(b)):
            return []
        if abs(a - b) <= tol * max(1.0, abs(a), abs(b)):
            return []
        return [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def main() -> int:
    """Run both versions on every case and report the differences."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision of the earlier code")
    parser.add_argument("--after", help="git revision of the later code (default: this tree)")
    parser.add_argument("--cases", type=int, default=5, help="random cases besides the bundled")
    parser.add_argument("--tol", type=float, default=1e-12)
    parser.add_argument("--fast", action="store_true", help="small sampler settings")
    parser.add_argument("--only", action="append", help="run only these commands (repeatable)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="compare-outputs-"))
    before = extract(args.before, scratch / "before")
    after = extract(args.after, scratch / "after") if args.after else REPO
    todo = {k: v for k, v in commands(args.fast).items() if not args.only or k in args.only}
    failures = 0
    compared = 0
    for seed in range(args.cases + 1):
        root = scratch / f"case-{seed}"
        make_case(root, seed)
        for name, (cli, sampled) in todo.items():
            if sampled:  # warm the compile caches for this structure first
                run(before, root, cli)
            old, new = run(before, root, cli), run(after, root, cli)
            diffs = differences(old, new, 0.0 if sampled else args.tol)
            compared += 1
            status = "same" if not diffs else f"{len(diffs)} differences"
            if isinstance(old, dict) and "exit" in old:
                status += f" (both exit {old['exit']})" if old == new else " (exit differs)"
            print(f"case {seed} {name:18s} {status}", flush=True)
            for line in diffs[:8]:
                print(f"    {line}")
            failures += bool(diffs)
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"{compared - failures} of {compared} outputs agree")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
