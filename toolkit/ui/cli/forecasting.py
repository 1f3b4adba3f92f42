"""``scenarios forecast``: run a forecast and print it as a table or JSON."""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path
from typing import Any

import click

from toolkit.core.defaults import LEVEL
from toolkit.core.errors import CaseError, Problem
from toolkit.core.jsonio import dumps
from toolkit.inference.engines.base import ENGINES
from toolkit.outputs.forecast import Forecast, run_forecast
from toolkit.outputs.language import estimative_word, percent, percent_range
from toolkit.store.runs import save_run
from toolkit.ui.cli.common import (
    DATE,
    LEVEL_TYPE,
    SEED,
    main,
    open_case,
    root_option,
    user_errors,
)


@main.command("forecast")
@click.argument("case")
@click.option("--engine", type=click.Choice(ENGINES), default="exact", show_default=True,
              help="exact: closed form, milliseconds. pymc: the full PyMC model.")
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="Use only evidence reported on or before this date (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--seed", type=SEED, default=None,
              help="Random seed (default: derived from the case name).")
@click.option("--level", type=LEVEL_TYPE, default=LEVEL, show_default=True,
              help="Credible interval probability.")
@click.option("--model", "model", type=click.Choice(("static", "dynamic")), default="static",
              show_default=True, help="static: one scenario throughout. dynamic: monthly "
              "regimes that can change (PyMC; timeline and horizon figures).")
@click.option("--horizon", type=DATE, default=None,
              help="Dynamic model: the forecast horizon (default: the case's).")
@click.option("--draws", type=click.IntRange(min=1), default=None,
              help="PyMC engine: draws per chain (NUTS, default 1000), or particles per "
              "chain on the time-aware model (default 2000).")
@click.option("--chains", type=click.IntRange(min=1), default=None,
              help="PyMC engine: number of chains (default 4).")
@click.option("--tune", type=click.IntRange(min=0), default=None,
              help="PyMC engine, NUTS: tuning steps per chain (default 300).")
@click.option("--dispersion", "dispersion", multiple=True, metavar="INDICATOR=PHI",
              help="PyMC engine: treat a count indicator as overdispersed (negative binomial, "
              "variance = mean + PHI mean^2); repeatable.")
@click.option("--no-save", "no_save", is_flag=True,
              help="Do not save the run under runs/ (nor add it to the history).")
@root_option
@user_errors
def forecast_command(
    case: str, engine: str, as_of: dt.date | None, as_json: bool, seed: int | None,
    level: float, root: Path | None, **engine_options: Any,
) -> None:
    """Forecast the scenarios of CASE from its priors and evidence."""
    loaded = open_case(root, case)
    model, horizon = engine_options.pop("model"), engine_options.pop("horizon")
    no_save = engine_options.pop("no_save", False)
    dispersion = engine_options.pop("dispersion", ())
    _refuse_what_does_not_apply(model, engine, engine_options, dispersion)
    if model == "dynamic":
        from toolkit.ui.cli.dynamic import dynamic_forecast

        if not as_json or _stderr_is_terminal():
            engine_options["progress"] = _progress_on_stderr
        dynamic_forecast(loaded, as_of, horizon, seed, level, as_json, engine_options,
                         save=not no_save)
        return
    if engine == "pymc" and (not as_json or _stderr_is_terminal()):
        engine_options["progress"] = _progress_on_stderr
    engine_options["dispersion"] = _parse_dispersion(loaded, dispersion, engine)
    forecast = run_forecast(loaded, engine=engine, as_of=as_of, seed=seed, level=level,
                            **{k: v for k, v in engine_options.items() if v is not None})
    run_id = None if no_save else save_run(forecast, loaded.paths.root)
    lines = {i.id: i.line for i in loaded.evidence}
    for pair in forecast.excluded.get("overlapping", []):
        first, second = pair.split("+")
        click.echo(f"warning: {first} and {second} (evidence rows {lines[first]} and "
                   f"{lines[second]}) report overlapping periods of one indicator that the "
                   "model cannot combine, so both count as if independent; make one period "
                   "lie inside the other or not overlap it", err=True)
    if as_json:
        click.echo(dumps({**forecast.to_dict(), "run_id": run_id}, indent=2))
    else:
        click.echo(render_table(forecast))
        if run_id is not None:
            click.echo(f"\nSaved run {run_id} (runs/{forecast.case}/{run_id}).")


def _refuse_what_does_not_apply(model: str, engine: str, options: dict[str, Any],
                                dispersion: tuple[str, ...]) -> None:
    """Options the chosen model or engine would silently ignore (CaseError, exit 2)."""
    given = click.get_current_context().get_parameter_source
    problems = []
    if model == "dynamic":
        ignored = [(name, why) for name, flag, why in (
            ("--engine", given("engine").name != "DEFAULT", "always runs on PyMC"),
            ("--dispersion", bool(dispersion), "reads counts as Poisson")) if flag]
        problems += [Problem(name, None, "--model", f"the dynamic model {why}, so it ignores "
                             f"{name}", f"drop {name}") for name, why in ignored]
    elif engine == "exact":
        problems += [Problem(f"--{name}", None, "--engine", f"the exact engine draws no samples, "
                             f"so it ignores --{name}", f"add --engine pymc or drop --{name}")
                     for name in ("draws", "chains", "tune") if options.get(name) is not None]
    if problems:
        raise CaseError(problems)


def _parse_dispersion(
    loaded: Any, given: tuple[str, ...] | None, engine: str
) -> dict[str, float] | None:
    """``INDICATOR=PHI`` options as a dict, checked against the case (CaseError if wrong)."""
    if not given:
        return None
    if engine != "pymc":
        raise CaseError([Problem("--dispersion", None, "--engine", "overdispersed counts have "
                                 "no closed form", "add --engine pymc")])
    out, problems = {}, []
    for text in given:
        name, _, value = text.partition("=")
        try:
            phi = float(value)
        except ValueError:
            phi = -1.0
        indicator = loaded.indicators.get(name.strip())
        if indicator is None or indicator.kind not in ("count", "occurrence") \
                or not 0 <= phi < math.inf:
            problems.append(Problem("--dispersion", None, text, "expected COUNT_INDICATOR=PHI "
                                    "with a finite PHI >= 0 and a count or occurrence indicator",
                                    "e.g. --dispersion drone_supply=0.5"))
        else:
            out[name.strip()] = phi
    if problems:
        raise CaseError(problems)
    return out


def _stderr_is_terminal() -> bool:
    """Whether stderr is a terminal (``click.get_text_stream`` is deprecated in Click 8.2)."""
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _progress_on_stderr(message: str, fraction: float) -> None:
    """Show a sampler's progress on stderr (stdout stays clean for --json)."""
    click.echo(f"[{fraction:4.0%}] {message}", err=True)


def render_table(forecast: Forecast, movers: int = 5) -> str:
    """The human-readable forecast: table, headline and the items that moved it most."""
    used = len(forecast.items)
    excluded = forecast.excluded
    lines = [
        forecast.title,
        f"Question: {forecast.question} (horizon {forecast.horizon.isoformat()})",
        f"Forecast as of {forecast.as_of.isoformat()} | engine: {forecast.engine} | "
        f"{used} evidence item{'s' if used != 1 else ''} used "
        f"({len(excluded['retracted'])} retracted, {len(excluded['after_as_of'])} reported "
        f"after the as-of date"
        + (f", {len(excluded['echoes'])} re-reports counted once" if excluded.get("echoes")
           else "")
        + (f", {len(excluded['nested'])} inside a reported total" if excluded.get("nested")
           else "") + ")",
        "",
    ]
    width = max(len("Scenario"), *(len(label) for label in forecast.labels))
    interval_head = f"{forecast.interval_level:.0%} interval"
    lines.append(f"  {'Scenario':<{width}}  {'Prior':>5}  {'Posterior':>9}  "
                 f"{interval_head:>12}  Estimate")
    for k, label in enumerate(forecast.labels):
        p = float(forecast.probabilities[k])
        lo, hi = forecast.intervals[k]
        lines.append(
            f"  {label:<{width}}  {percent(forecast.prior[k]):>5}  {percent(p):>9}  "
            f"{percent_range(lo, hi):>12}  {estimative_word(p)}"
        )
    lines += ["", forecast.headline()]
    if not forecast.converged:
        lines.append("WARNING: the sampler did not converge; see diagnostics.")
    drivers = forecast.drivers(top=movers)
    if drivers:
        lines += ["", "What moved it most:"]
        labels = dict(zip(forecast.scenario_ids, forecast.labels, strict=True))
        for d in drivers:
            lines.append(
                f"  {d['item']:<6} {d['indicator']:<24} {labels[d['scenario']]}: "
                f"{percent(d['from'])} -> {percent(d['to'])} (LR {d['likelihood_ratio']:.2g})"
            )
    return "\n".join(lines)
