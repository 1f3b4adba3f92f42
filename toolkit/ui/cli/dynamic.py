"""``scenarios forecast CASE --model dynamic``: the regime-switching forecast as table or JSON.

Called by :mod:`toolkit.ui.cli.forecasting`; it registers no command of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from toolkit.core.jsonio import dumps
from toolkit.model.case import Case
from toolkit.outputs.dynamic_forecast import DynamicForecast, run_dynamic
from toolkit.outputs.language import percent, percent_range
from toolkit.store.runs import save_run

#: Options of ``scenarios forecast`` that the dynamic model understands.
SAMPLER_OPTIONS = ("draws", "tune", "chains", "cores", "progress")


def dynamic_forecast(
    case: Case, as_of: dt.date | None, horizon: dt.date | None, seed: int | None,
    level: float, as_json: bool, options: dict[str, Any], save: bool = True,
) -> DynamicForecast:
    """Run the dynamic model, save it as a run (unless ``save`` is false) and print it.

    Parameters
    ----------
    case : Case
        The loaded case.
    as_of, horizon : date or None
        As-of date (default today) and horizon (default the case's).
    seed : int or None
        Random seed.
    level : float
        Credible interval probability.
    as_json : bool
        Print JSON instead of the table.
    options : dict
        Other command-line options; sampler settings and ``progress`` among them are used.
    save : bool
        Save the run under ``runs/<case>/`` and in the history (``--no-save``: not).

    Returns
    -------
    DynamicForecast
        The forecast printed.
    """
    settings = {k: options[k] for k in SAMPLER_OPTIONS if options.get(k) is not None}
    forecast = run_dynamic(case, horizon=horizon, as_of=as_of, seed=seed, level=level,
                           **settings)
    run_id = save_run(forecast, case.paths.root) if save else None
    if as_json:
        click.echo(dumps({**forecast.to_dict(), "run_id": run_id}, indent=2))
    else:
        click.echo(render_dynamic_table(forecast))
        if run_id is not None:
            click.echo(f"\nSaved run {run_id} (runs/{forecast.case}/{run_id}).")
    return forecast


def _cells(values: Any) -> str:
    return "  ".join(f"{percent(float(v)):>6}" for v in values)


def render_dynamic_table(forecast: DynamicForecast) -> str:
    """The human-readable dynamic forecast: now, horizon, reach, a quarterly timeline."""
    f = forecast
    now, end = f.months[f.as_of_row], f.months[-1]
    width = max(len("Scenario"), *(len(label) for label in f.labels))
    level = f"{f.interval_level:.0%} interval"
    lines = [
        f.title,
        f"Question: {f.question} (horizon {f.horizon.isoformat()})",
        f"Dynamic model (monthly regimes) as of {f.as_of.isoformat()} | {len(f.items)} "
        f"evidence items | months {f.months[0]} to {end}",
        "",
        f"  {'Scenario':<{width}}  {'Prior':>5}  {'Static':>6}  {'Now ' + now:>12}  "
        f"{'Horizon ' + end:>16}  {level:>12}",
    ]
    for k, label in enumerate(f.labels):
        lo, hi = f.intervals[k]
        lines.append(
            f"  {label:<{width}}  {percent(f.prior[k]):>5}  "
            f"{percent(f.static_probabilities[k]):>6}  {percent(f.current[k]):>12}  "
            f"{percent(f.probabilities[k]):>16}  {percent_range(lo, hi):>12}")
    p, lo, hi = f.reach
    lines += [
        "",
        f"{f.labels[f.target]} in at least one month from {now} to {end}: "
        f"{percent(p)} ({percent_range(lo, hi)})",
        "",
        f.headline(),
        "",
        "Timeline (filtered probability, evidence up to each month; quarterly):",
        f"  {'Month':<8} " + "  ".join(f"{sid[:6]:>6}" for sid in f.scenario_ids),
    ]
    shown = [m for m in range(f.as_of_row + 1) if m % 3 == 0 or m == f.as_of_row]
    for m in shown:
        lines.append(f"  {f.months[m]:<8} {_cells(f.filtered.mean[m])}")
    d = f.diagnostics
    lines += ["", f"Diagnostics: max r_hat {d['r_hat_max']:.3f}, min bulk ESS "
              f"{d['ess_bulk_min']:.0f}, min tail ESS {d['ess_tail_min']:.0f}, "
              f"{d['divergences']} divergences ({d['chains']} chains x {d['draws']} draws)"]
    if not f.converged:
        lines.append("WARNING: the sampler did not converge; see diagnostics.")
    return "\n".join(lines)
