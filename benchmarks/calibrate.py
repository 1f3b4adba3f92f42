"""Calibration by simulation: worlds with a known true scenario, forecast through the public API.

``make calibrate`` runs this script. Each *world* draws a true scenario from the prior
weights of a base case (the bundled Russia-Iran case by default) and every indicator's
true rate, amount or share from that scenario's prior. Evidence is then written the way a
*regime* says analysts log it, as a real case folder (priors, seeds, ledger), and the case
is forecast with :func:`toolkit.outputs.forecast.run_forecast`. Regimes:

``ideal``
    The model's own assumptions: exact totals over disjoint windows; an item of
    reliability ``r`` is genuine with probability ``r`` and otherwise drawn from the
    scenarios' average prior predictive.
``censored``
    The same worlds reported as ranges, lower bounds and ``yes``/``no``.
``event_log``
    Occurrence and sanctions indicators watched since the start and logged one row per
    event on its own day (false rows at the rate the grade implies); the rest as ``ideal``.
``drift``
    True rates trend (the slope of ``wander: 2``) and take a monthly random walk around the
    trend (``walk``), both stated in the priors; items as ``ideal``.
``overlap``
    ``ideal`` plus sub-period totals inside reported totals (split from the same counts).
``echo``
    ``ideal`` plus re-reports: half marked with ``echo_of``, half the same claim cited again.
``false_reports``
    ``ideal`` plus fabricated items with poor grades, many of them far too large.
``realistic``
    All of the above at once.

Per regime it prints the multi-class Brier score against the prior alone, the mean log
score, the expected calibration error (10 equal-width bins over every scenario's
probability) with its reliability table, the share of worlds with >= 90% on a wrong
scenario, and the coverage of 90% predictive intervals of next year's totals (randomised
PIT for whole numbers).

Usage::

    python benchmarks/calibrate.py [--worlds 200] [--seed 1] [--regimes ideal,drift] [--json]
                                   [--engine exact|pymc]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import json
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolkit.families.observation import DAYS_PER_MONTH  # noqa: E402
from toolkit.inference.posteriors import indicator_posteriors  # noqa: E402
from toolkit.model.case import Case, load_case  # noqa: E402
from toolkit.model.reliability import parse_reliability  # noqa: E402
from toolkit.model.trajectory import Z90, drift_for, months_since_epoch  # noqa: E402
from toolkit.outputs.forecast import run_forecast  # noqa: E402

REGIMES = ("ideal", "censored", "event_log", "drift", "overlap", "echo", "false_reports",
           "realistic")
START = dt.date(2022, 1, 1)
AS_OF = dt.date(2026, 6, 30)
FUTURE = (dt.date(2026, 7, 1), dt.date(2027, 6, 30))
END = FUTURE[1]
GOOD_GRADES = ("A1", "A2", "B1", "B2", "B3", "C2", "C3")
POOR_GRADES = ("D4", "D5", "E5", "E4", "C5", "F6")
SOURCE = "G02"  # any claim of the base case's seeds: the ledger must cite one
#: Indicators watched in the event-log regimes (point processes with modest rates).
WATCHED = ("advanced_arms_to_iran", "joint_production", "instc_progress",
           "defense_commitment", "sanctions_pressure", "covert_caspian_shipping")
#: Coverage of next year's totals is checked for these (large whole numbers or amounts).
PREDICTED = ("drone_supply", "munitions_supply", "small_arms_ammunition",
             "sanctions_pressure", "financing")
LEVEL_BINS = np.linspace(0.0, 1.0, 11)
#: Drifting worlds: the priors say ``wander: 2``; true log rates also take a random walk
#: of this many nats a month around the trend, which the priors state as ``walk``.
WANDER = 2.0
WALK_SD = 0.04
WALK = math.exp(WALK_SD * math.sqrt(12.0) * Z90)


@dataclass
class Regime:
    """What a regime does to the evidence (see the module docstring)."""

    censor: bool = False
    event_log: bool = False
    drift: bool = False
    overlap: bool = False
    echo: bool = False
    false_reports: bool = False


REGIME_FLAGS = {
    "ideal": Regime(),
    "censored": Regime(censor=True),
    "event_log": Regime(event_log=True),
    "drift": Regime(drift=True),
    "overlap": Regime(overlap=True),
    "echo": Regime(echo=True),
    "false_reports": Regime(false_reports=True),
    "realistic": Regime(censor=True, event_log=True, drift=True, overlap=True, echo=True,
                        false_reports=True),
}


# --- the true world ------------------------------------------------------------------------

MONTHS = (END.year - START.year) * 12 + END.month - START.month + 1


def month_index(day: dt.date) -> float:
    """Months from START to ``day`` (fractional)."""
    return (day - START).days / DAYS_PER_MONTH


@dataclass
class Truth:
    """One indicator's true monthly parameter path (natural scale) and prior parameters."""

    indicator: str
    family: object
    params: tuple
    path: np.ndarray  # per month from START
    trials: int = 1

    def mean_over(self, start: dt.date, end: dt.date) -> float:
        """Mean of the natural parameter over a window (rates: average monthly rate)."""
        a, b = month_index(start), month_index(end + dt.timedelta(days=1))
        months = np.arange(MONTHS)
        overlap = np.clip(np.minimum(months + 1, b) - np.maximum(months, a), 0, None)
        return float(np.sum(self.path * overlap) / max(overlap.sum(), 1e-12))


def draw_truth(case: Case, scenario: str, regime: Regime,
               rng: np.random.Generator) -> dict[str, Truth]:
    """Every indicator's true path under ``scenario``."""
    out = {}
    drift = drift_for(WANDER, case.priors.start, case.priors.horizon)
    pivot = drift.t0 - months_since_epoch(START)  # the model's reference time, in sim months
    t = np.arange(MONTHS) + 0.5 - pivot
    for indicator in case.used_indicators:
        family = case.indicators[indicator].family
        params = case.prior_params(indicator, scenario)
        natural = float(family.sample_conjugate(params, 1, rng)[0])
        path = np.full(MONTHS, natural)
        if regime.drift:  # the model's slope (wander: 2) plus its random walk (walk)
            slope = rng.normal(0.0, drift.sigma / 12)
            walk = np.cumsum(rng.normal(0.0, WALK_SD, MONTHS))
            walk -= walk[int(pivot)]
            u = family.u_from_natural(np.array([natural]))[0] + slope * t + walk
            path = family.natural_from_u(u)
        out[indicator] = Truth(indicator, family, params, path)
    return out


# --- the ledger ----------------------------------------------------------------------------

@dataclass
class Row:
    """One ledger row being written."""

    reported_on: dt.date
    start: dt.date
    end: dt.date
    indicator: str
    value: str
    unit: str
    grade: str
    echo_of: str = ""
    id: str = ""


@dataclass
class World:
    """A simulated world: truth, ledger rows, watched indicators, next year's totals."""

    scenario: int
    rows: list[Row] = field(default_factory=list)
    watched: tuple[str, ...] = ()
    future: dict[str, float] = field(default_factory=dict)
    wander: bool = False


def _day(offset_days: float) -> dt.date:
    return START + dt.timedelta(days=int(offset_days))


def _window(indicator: str, kind: str, rng: np.random.Generator) -> tuple[dt.date, dt.date]:
    span = (AS_OF - START).days
    length = {"amount": 365, "signal": int(rng.integers(20, 90))}.get(
        kind, int(rng.integers(30, 366 if kind == "count" else 730)))
    first = int(rng.integers(0, max(span - length, 1)))
    return _day(first), _day(first + length - 1)


def _disjoint_windows(indicator: str, kind: str, count: int,
                      rng: np.random.Generator) -> list[tuple[dt.date, dt.date]]:
    windows: list[tuple[dt.date, dt.date]] = []
    for _ in range(count * 10):
        if len(windows) == count:
            break
        a, b = _window(indicator, kind, rng)
        if all(b < s or a > e for s, e in windows):
            windows.append((a, b))
    return sorted(windows)


def simulate_total(truth: Truth, start: dt.date, end: dt.date, trials: int,
                   rng: np.random.Generator) -> float:
    """A window's true total under the truth's path."""
    months = ((end - start).days + 1) / DAYS_PER_MONTH
    return truth.family.simulate_total(truth.mean_over(start, end), months, trials,
                                       truth.params, rng)


def reference_total(case: Case, indicator: str, start: dt.date, end: dt.date, trials: int,
                    rng: np.random.Generator) -> float:
    """A total drawn from the scenarios' average prior predictive (a non-genuine report)."""
    scenario = case.priors.scenario_ids[int(rng.integers(len(case.priors.scenario_ids)))]
    family = case.indicators[indicator].family
    params = case.prior_params(indicator, scenario)
    natural = float(family.sample_conjugate(params, 1, rng)[0])
    months = ((end - start).days + 1) / DAYS_PER_MONTH
    return family.simulate_total(natural, months, trials, params, rng)


def write_value(kind: str, total: float, trials: int, censor: bool,
                rng: np.random.Generator) -> str:
    """The ledger value of a total, exact or censored the way analysts write it."""
    if kind == "signal":
        return f"{int(total)}/{trials}"
    if kind == "amount":
        if censor and rng.random() < 0.7:
            return f"{total * rng.uniform(0.5, 0.9):.4g}-{total * rng.uniform(1.1, 2.0):.4g}"
        return f"{total:.6g}"
    y = int(total)
    if not censor:
        return str(y)
    if kind == "occurrence":
        return "yes" if y >= 1 else "no"
    choice = rng.random()
    if choice < 0.5:
        return f"{math.floor(y * rng.uniform(0.5, 0.9))}-{math.ceil(y * rng.uniform(1.1, 2.0))}"
    if choice < 0.8:
        return f">={math.floor(y * rng.uniform(0.4, 0.9))}"
    return str(y)


def simulate_world(case: Case, regime: Regime, rng: np.random.Generator) -> World:
    """One world of ``regime``: the truth and its ledger."""
    weights = np.asarray(case.priors.weights)
    k = int(rng.choice(weights.size, p=weights))
    truths = draw_truth(case, case.priors.scenario_ids[k], regime, rng)
    world = World(k, watched=WATCHED if regime.event_log else (), wander=regime.drift)
    for indicator, truth in truths.items():
        ind = case.indicators[indicator]
        kind = ind.kind
        if indicator in PREDICTED:
            world.future[indicator] = simulate_total(truth, *FUTURE, 1, rng)
        if indicator in world.watched:
            world.rows += _event_rows(case, truth, rng)
            continue
        for start, end in _disjoint_windows(indicator, kind, int(rng.integers(1, 4)), rng):
            trials = int(rng.integers(1, 7)) if kind == "signal" else 1
            grade = str(rng.choice(GOOD_GRADES))
            r = parse_reliability(grade)
            total = simulate_total(truth, start, end, trials, rng)
            shown = total if rng.random() < r else \
                reference_total(case, indicator, start, end, trials, rng)
            report = min(end + dt.timedelta(days=int(rng.integers(0, 60))), AS_OF)
            world.rows.append(Row(report, start, end, indicator,
                                  write_value(kind, shown, trials, regime.censor, rng),
                                  ind.unit, grade))
            if regime.overlap and kind == "count" and (end - start).days > 40 \
                    and rng.random() < 0.6 and shown == total:
                world.rows.append(_nested(truth, start, end, int(total), grade, ind.unit,
                                          regime.censor, rng))
    if regime.false_reports:
        world.rows += _fabricated(case, truths, rng)
    world.rows.sort(key=lambda row: (row.reported_on, row.start))
    for number, row in enumerate(world.rows, start=1):
        row.id = f"W{number:04d}"
    if regime.echo:
        world.rows += _echoes(world.rows, rng)
    return world


def _nested(truth: Truth, start: dt.date, end: dt.date, total: int, grade: str, unit: str,
            censor: bool, rng: np.random.Generator) -> Row:
    """A sub-period total inside ``[start, end]``, split from the same true count."""
    days = (end - start).days + 1
    length = int(rng.integers(7, max(days // 2, 8)))
    first = int(rng.integers(0, days - length + 1))
    a, b = start + dt.timedelta(days=first), start + dt.timedelta(days=first + length - 1)
    inner, whole = truth.mean_over(a, b) * length, truth.mean_over(start, end) * days
    part = int(rng.binomial(total, min(inner / whole, 1.0)))
    value = write_value("count", part, 1, censor, rng)
    return Row(min(b + dt.timedelta(days=int(rng.integers(0, 30))), AS_OF), a, b,
               truth.indicator, value, unit, grade)


def _event_rows(case: Case, truth: Truth, rng: np.random.Generator) -> list[Row]:
    """Every event of a watched indicator as its own row, plus false rows per grade."""
    from toolkit.families.observation import Observation
    from toolkit.inference.reference import with_references

    unit = case.indicators[truth.indicator].unit
    value = "yes" if case.indicators[truth.indicator].kind == "occurrence" else "1"
    probe = Observation("probe", truth.indicator, 0.0, 1.0, 1.0, 0.5, reading="events",
                        mixture=True)
    reference_rate = math.exp(with_references(case, [probe])[0].log_ref)
    rows = []
    span_months = month_index(AS_OF + dt.timedelta(days=1))
    for m in range(int(math.ceil(span_months))):
        exposure = min(1.0, span_months - m)
        for _ in range(int(rng.poisson(truth.path[m] * exposure))):
            rows.append(_event_row(truth.indicator, m, exposure, value, unit,
                                   str(rng.choice(("A1", "B2", "B2", "C2"))), rng))
    for grade in ("B2", "C2"):  # false rows: rate ref * (1 - r) / r per grade in use
        r = parse_reliability(grade)
        share = 0.5 if grade == "B2" else 0.25
        for _ in range(int(rng.poisson(reference_rate * (1 - r) / r * share * span_months))):
            rows.append(_event_row(truth.indicator, rng.uniform(0, span_months), 0.0, value,
                                   unit, grade, rng))
    return rows


def _event_row(indicator: str, month: float, exposure: float, value: str, unit: str,
               grade: str, rng: np.random.Generator) -> Row:
    offset = (month + (rng.random() * exposure if exposure else 0.0)) * DAYS_PER_MONTH
    day = min(_day(offset), AS_OF)
    return Row(day, day, day, indicator, value, unit, grade)


def _fabricated(case: Case, truths: dict[str, Truth], rng: np.random.Generator) -> list[Row]:
    """One to three fabricated reports with poor grades, most of them far too large."""
    rows = []
    candidates = [i for i in truths if case.indicators[i].kind in ("count", "amount")]
    for _ in range(int(rng.integers(1, 4))):
        indicator = str(rng.choice(candidates))
        ind = case.indicators[indicator]
        start, end = _window(indicator, ind.kind, rng)
        total = simulate_total(truths[indicator], start, end, 1, rng)
        factor = 10 ** rng.uniform(0.5, 2.5) if rng.random() < 0.7 else 10 ** -rng.uniform(0.5, 2)
        fake = max(total * factor, 1.0)
        rows.append(Row(min(end + dt.timedelta(days=int(rng.integers(0, 60))), AS_OF), start,
                        end, indicator, write_value(ind.kind, fake, 1, False, rng), ind.unit,
                        str(rng.choice(POOR_GRADES))))
    return rows


def _echoes(rows: list[Row], rng: np.random.Generator) -> list[Row]:
    """Re-reports of about 40% of the items: half marked ``echo_of``, half the same claim."""
    out = []
    for row in rows:
        if rng.random() < 0.4:
            marked = rng.random() < 0.5
            echo = dataclasses.replace(row, reported_on=min(row.reported_on + dt.timedelta(
                days=int(rng.integers(1, 20))), AS_OF), echo_of=row.id if marked else "",
                id=f"{row.id}e", grade=str(rng.choice(GOOD_GRADES)) if marked else row.grade)
            out.append(echo)
    return out


# --- case folders --------------------------------------------------------------------------

def write_case(folder: Path, base: Case, world: World) -> None:
    """Write ``world`` as a case folder named like the base case."""
    for sub in ("priors", "evidence", "seeds"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    text = base.paths.priors.read_text(encoding="utf-8")
    if world.watched:
        text += "\nwatch:\n" + "".join(f"  {i}: since {START}\n" for i in world.watched)
    if world.wander:
        text += f"\nwander: {WANDER}\nwalk: {WALK:.12g}\n"
    (folder / "priors" / base.paths.priors.name).write_text(text, encoding="utf-8")
    seeds = folder / "seeds" / base.name
    if not seeds.exists():
        shutil.copytree(base.paths.seeds, seeds)
    with (folder / "evidence" / f"{base.name}.csv").open("w", newline="",
                                                        encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "reported_on", "period_start", "period_end", "indicator",
                         "value", "unit", "source", "reliability", "status", "echo_of",
                         "note"])
        for row in world.rows:
            writer.writerow([row.id, row.reported_on, row.start, row.end, row.indicator,
                             row.value, row.unit, SOURCE, row.grade, "active", row.echo_of,
                             "simulated"])


# --- scoring -------------------------------------------------------------------------------

@dataclass
class Score:
    """One world's forecast against its truth."""

    probabilities: np.ndarray
    truth: int
    pits: list[float]


def predictive_pits(case: Case, forecast, world: World, rng: np.random.Generator) -> list[float]:
    """Randomised PIT values of next year's true totals under the forecast's predictive."""
    observations = case.observations(forecast.items, forecast.as_of)
    months = ((FUTURE[1] - FUTURE[0]).days + 1) / DAYS_PER_MONTH
    pits = []
    for indicator, total in world.future.items():
        posts = indicator_posteriors(case, indicator, observations, window=FUTURE)
        family = case.indicators[indicator].family
        weights = forecast.probabilities
        x = np.array([total - 1.0, total]) if family.whole_totals else np.array([total, total])
        cdfs = np.array([np.asarray(post.family.cdf(post, x, months, None), float)
                         for post in posts.values()])
        below, at = weights @ cdfs
        pits.append(float(below + rng.random() * (at - below)) if family.whole_totals
                    else float(at))
    return pits


def score_regime(scores: list[Score], prior: np.ndarray) -> dict:
    """The regime's figures (see the module docstring)."""
    p = np.array([s.probabilities for s in scores])
    truth = np.array([s.truth for s in scores])
    onehot = np.eye(p.shape[1])[truth]
    brier = float(np.mean(np.sum((p - onehot) ** 2, axis=1)))
    brier_prior = float(np.mean(np.sum((prior[None, :] - onehot) ** 2, axis=1)))
    log_score = float(np.mean(np.log(np.clip(p[np.arange(len(truth)), truth], 1e-300, None))))
    flat_p, flat_y = p.ravel(), onehot.ravel()
    bins = np.clip(np.digitize(flat_p, LEVEL_BINS[1:-1]), 0, 9)
    table, ece = [], 0.0
    for b in range(10):
        hit = bins == b
        if hit.any():
            mean_p, freq = float(flat_p[hit].mean()), float(flat_y[hit].mean())
            ece += hit.mean() * abs(mean_p - freq)
            table.append({"bin": f"{LEVEL_BINS[b]:.1f}-{LEVEL_BINS[b + 1]:.1f}",
                          "n": int(hit.sum()), "mean_p": mean_p, "observed": freq})
    top = p.argmax(axis=1)
    wrong90 = float(np.mean((p.max(axis=1) >= 0.9) & (top != truth)))
    pits = np.array([v for s in scores for v in s.pits])
    coverage = float(np.mean((pits >= 0.05) & (pits <= 0.95))) if pits.size else math.nan
    return {"worlds": len(scores), "brier": brier, "brier_prior": brier_prior,
            "log_score": log_score, "ece": float(ece), "wrong_at_90": wrong90,
            "coverage_90": coverage, "predictions": int(pits.size), "reliability": table}


def run_regime(base: Case, name: str, worlds: int, seed: int, workdir: Path,
               progress: bool = True, engine: str = "exact") -> dict:
    """Simulate, forecast (with ``engine``) and score ``worlds`` worlds of regime ``name``."""
    regime = REGIME_FLAGS[name]
    rng = np.random.default_rng([seed, REGIMES.index(name)])
    scores = []
    started = time.perf_counter()
    for w in range(worlds):
        world = simulate_world(base, regime, rng)
        folder = workdir / f"{name}-{w:04d}"
        write_case(folder, base, world)
        case = load_case(folder, base.name)
        forecast = run_forecast(case, engine, as_of=AS_OF, seed=w)
        scores.append(Score(forecast.probabilities, world.scenario,
                            predictive_pits(case, forecast, world, rng)))
        shutil.rmtree(folder)
        if progress and (w + 1) % max(worlds // 10, 1) == 0:
            print(f"  {name}: {w + 1}/{worlds} worlds ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)
    out = score_regime(scores, np.asarray(base.priors.weights))
    out["seconds"] = time.perf_counter() - started
    return out


def calibrate(worlds: int = 200, seed: int = 1, regimes: tuple[str, ...] = REGIMES,
              base_root: Path = ROOT, case_name: str = "russia-iran",
              progress: bool = True, engine: str = "exact") -> dict[str, dict]:
    """Run every regime; return its figures by regime name."""
    base = load_case(base_root, case_name)
    out = {}
    with tempfile.TemporaryDirectory(prefix="calibrate-") as tmp:
        for name in regimes:
            out[name] = r = run_regime(base, name, worlds, seed, Path(tmp), progress, engine)
            if progress:  # each regime's figures as soon as they exist
                print(f"  {name}: Brier {r['brier']:.3f} (prior {r['brier_prior']:.3f}), "
                      f"ECE {r['ece']:.3f}, >=90% wrong {r['wrong_at_90']:.1%}, "
                      f"90% coverage {r['coverage_90']:.1%}", file=sys.stderr, flush=True)
    return out


TARGETS = "Brier < prior; ECE <= 0.04; >=90% on a wrong scenario <= 2%; coverage 85-95%"


def print_table(results: dict[str, dict]) -> None:
    """The per-regime summary and each regime's reliability table."""
    print(f"Calibration by simulation (targets: {TARGETS})")
    print(f"{'regime':<14}{'worlds':>7}{'Brier':>8}{'prior':>8}{'log sc':>8}{'ECE':>7}"
          f"{'wrong>=90%':>11}{'cover90':>9}  pass")
    for name, r in results.items():
        ok = (r["brier"] < r["brier_prior"] and r["ece"] <= 0.04 and r["wrong_at_90"] <= 0.02
              and (math.isnan(r["coverage_90"]) or 0.85 <= r["coverage_90"] <= 0.95))
        print(f"{name:<14}{r['worlds']:>7}{r['brier']:>8.3f}{r['brier_prior']:>8.3f}"
              f"{r['log_score']:>8.3f}{r['ece']:>7.3f}{r['wrong_at_90']:>11.1%}"
              f"{r['coverage_90']:>9.1%}  {'yes' if ok else 'NO'}")
    for name, r in results.items():
        print(f"\n{name}: reliability table (probability bin, n, mean forecast, observed)")
        for row in r["reliability"]:
            print(f"  {row['bin']}  {row['n']:>5}  {row['mean_p']:.3f}  {row['observed']:.3f}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worlds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--regimes", default=",".join(REGIMES))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--engine", choices=("exact", "pymc"), default="exact",
                        help="the engine forecasting every world (pymc: seconds to minutes "
                        "a world; the predictive intervals weight each scenario's exact "
                        "posterior by the engine's probabilities)")
    args = parser.parse_args(argv)
    regimes = tuple(r.strip() for r in args.regimes.split(",") if r.strip())
    unknown = [r for r in regimes if r not in REGIMES]
    if unknown:
        parser.error(f"unknown regime(s) {', '.join(unknown)}; use: {', '.join(REGIMES)}")
    results = calibrate(args.worlds, args.seed, regimes, engine=args.engine)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
