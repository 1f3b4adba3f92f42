"""``scenarios sensitivity`` and ``scenarios sweep``: which prior assumptions drive the forecast."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from toolkit.core.errors import CaseError, Problem
from toolkit.core.jsonio import dumps
from toolkit.ui.cli.common import (
    DATE,
    SEED,
    main,
    open_case,
    resolve_root,
    root_option,
    user_errors,
)

FORMATS = ("png", "svg")


def _progress(what: str):
    def show(done: int, total: int) -> None:
        if done == total or done % max(1, total // 10) == 0:
            click.echo(f"{what}: {done}/{total}", err=True)
    return show


def _out_folder(root: Path, out: Path) -> Path:
    folder = out if out.is_absolute() else root / out
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = Problem(str(out), None, "--out", f"cannot create the folder ({exc.strerror})",
                          "choose a folder you can write to")
        raise CaseError([problem]) from None
    return folder


@main.command("sensitivity")
@click.argument("case")
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="Use only evidence reported on or before this date (default: today).")
@click.option("--engine", type=click.Choice(["exact", "pymc"]), default="exact",
              show_default=True, help="Engine of every forecast (PyMC: one full run each).")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="How many of the most influential quantities to print and chart.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="reports",
              show_default=True, help="Folder of the tornado chart (relative to the root).")
@click.option("--format", "formats", default="png,svg", show_default=True,
              help="Chart formats, comma-separated (png, svg).")
@click.option("--no-chart", is_flag=True, help="Print only; write no chart.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (every input).")
@root_option
@user_errors
def sensitivity_command(case: str, as_of: dt.date | None, engine: str, top: int, out: Path,
                        formats: str, no_chart: bool, as_json: bool, root: Path | None) -> None:
    """Move each prior quantity of CASE across its range; rank by how far the forecast moves.

    Every scenario weight, expectation bound, path point and wander/walk factor is halved
    and doubled, one at a time. The table gives the headline probability at both ends and
    the value at which another scenario would take the lead.
    """
    from toolkit.outputs.charts.style import save_figure
    from toolkit.outputs.charts.tornado import tornado_chart
    from toolkit.outputs.sensitivity import sensitivity

    chosen = [f.strip().lower() for f in formats.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise click.BadParameter(f"use png and/or svg, not {', '.join(unknown) or 'nothing'}",
                                 param_hint="--format")
    loaded = open_case(root, case)
    result = sensitivity(loaded, as_of, engine, progress=_progress("sensitivity: quantities"))
    written = []
    if not no_chart:
        folder = _out_folder(resolve_root(root), out)
        for ext in chosen:
            path = folder / f"{loaded.name}-sensitivity.{ext}"
            save_figure(tornado_chart(result, top), path)
            written.append(str(path))
    if as_json:
        click.echo(dumps({**result.to_dict(), "charts": written}, indent=2))
        return
    lead = result.lead
    lines = [f"What moves the forecast of {loaded.name} (as of {result.as_of.isoformat()}, "
             f"{engine} engine): P({result.labels[lead]}) = {result.probabilities[lead]:.0%}.",
             "Each quantity halved and doubled, the rest as saved "
             f"({len(result.influences)} quantities, {result.forecasts} forecasts, "
             f"{result.seconds:.1f} s).", ""]
    width = max(len(i.quantity.label) for i in result.top(top))
    lines.append(f"  {'#':>2}  {'Input':<{width}}  {'value':>9}  {'P at x0.5':>9}  "
                 f"{'P at x2':>8}  tipping point")
    for rank, i in enumerate(result.top(top), start=1):
        tipping = ("-" if i.tipping is None else f"{i.tipping:.4g} -> {i.tipping_to}")
        lines.append(f"  {rank:>2}  {i.quantity.label:<{width}}  {i.quantity.value:>9.4g}  "
                     f"{i.at_low[lead]:>9.1%}  {i.at_high[lead]:>8.1%}  {tipping}")
    if written:
        lines += ["", "Tornado chart: " + ", ".join(written)]
    click.echo("\n".join(lines))


@main.command("sweep")
@click.argument("case")
@click.option("--vary", "varies", multiple=True, required=True, metavar="PATH=LOW:HIGH:N",
              help="A prior quantity and its values (repeatable), e.g. "
                   "scenarios.drift.weight=0.1:0.5:9.")
@click.option("--design", "kind", type=click.Choice(["grid", "random"]), default="grid",
              show_default=True, help="Every combination, or random settings.")
@click.option("--points", type=click.IntRange(1, 200_000), default=None,
              help="Settings of a random design.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of a random design.")
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="Use only evidence reported on or before this date (default: today).")
@click.option("--engine", type=click.Choice(["exact", "pymc"]), default="exact",
              show_default=True, help="Engine of every forecast.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="A running Dask scheduler (tcp://host:8786); 'serial' runs in this "
                   "process. Default ('local'): a LocalCluster of --workers on this machine.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes of the LocalCluster.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The table: .csv or .parquet (relative to the root).")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also chart each scenario's probability against each varied quantity "
                   "(.png or .svg).")
@root_option
@user_errors
def sweep_command(case: str, varies: tuple[str, ...], kind: str, points: int | None, seed: int,
                  as_of: dt.date | None, engine: str, scheduler: str | None, workers: int,
                  out: Path, chart: Path | None, root: Path | None) -> None:
    """Forecast CASE over a grid or random design of prior quantities; write a tidy table."""
    from toolkit.outputs.charts.style import save_figure
    from toolkit.outputs.charts.sweep import response_chart
    from toolkit.outputs.sweep import design, parse_axis, sweep, write_table
    from toolkit.outputs.tasks import Runner

    try:
        axes = [parse_axis(v) for v in varies]
        settings = design(axes, kind, points, seed)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--vary/--design/--points") from None
    for path, option in ((out, "--out"), (chart, "--chart")):
        allowed = (".csv", ".parquet") if option == "--out" else (".png", ".svg")
        if path is not None and path.suffix.lower() not in allowed:
            raise click.BadParameter(f"{path} must end in {' or '.join(allowed)}",
                                     param_hint=option)
    loaded = open_case(root, case)
    base = resolve_root(root)
    targets = [p if p.is_absolute() else base / p for p in (out, chart) if p is not None]
    for target in targets:
        _out_folder(base, target.parent)
    runner = Runner(scheduler, workers, progress=_progress("sweep: chunks"))
    click.echo(f"sweep: {len(settings)} settings {runner.where}", err=True)
    with runner:
        table = sweep(loaded, settings, as_of, engine, runner=runner)
    write_table(table, targets[0])
    lines = [f"Swept {len(settings)} settings of {loaded.name}: table {targets[0]}"]
    if chart is not None:
        save_figure(response_chart(table, [a.path for a in axes], loaded), targets[1])
        lines.append(f"Chart: {targets[1]}")
    counts = table["leading"].value_counts()
    lines += [f"  leading in {n} of {len(table)}: {sid}" for sid, n in counts.items()]
    click.echo("\n".join(lines))
