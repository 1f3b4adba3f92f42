"""``scenarios forecast``: run a forecast and print it as a table or JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from toolkit.cli.common import DATE, main, open_case, root_option, user_errors
from toolkit.engines.base import ENGINES
from toolkit.forecast import Forecast, run_forecast
from toolkit.language import estimative_word, percent


@main.command("forecast")
@click.argument("case")
@click.option("--engine", type=click.Choice(ENGINES), default="exact", show_default=True,
              help="exact: closed form, milliseconds. pymc: the full PyMC model.")
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="Use only evidence reported on or before this date (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--seed", type=int, default=None,
              help="Random seed (default: derived from the case name).")
@click.option("--level", type=click.FloatRange(0.5, 0.99), default=0.9, show_default=True,
              help="Credible interval probability.")
@root_option
@user_errors
def forecast_command(
    case: str, engine: str, as_of: dt.date | None, as_json: bool, seed: int | None,
    level: float, root: Path | None, **engine_options: Any,
) -> None:
    """Forecast the scenarios of CASE from its priors and evidence."""
    loaded = open_case(root, case)
    forecast = run_forecast(loaded, engine=engine, as_of=as_of, seed=seed, level=level,
                            **{k: v for k, v in engine_options.items() if v is not None})
    if as_json:
        click.echo(json.dumps(forecast.to_dict(), indent=2))
    else:
        click.echo(render_table(forecast))


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
        f"after the as-of date)",
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
            f"{percent(lo) + '-' + percent(hi):>12}  {estimative_word(p)}"
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
