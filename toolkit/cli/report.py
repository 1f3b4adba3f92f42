"""``scenarios report``: write charts (and, later, the briefing) for a forecast."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from toolkit.cli.common import DATE, main, open_case, root_option, user_errors
from toolkit.engines.base import ENGINES
from toolkit.forecast import run_forecast
from toolkit.report import CHART_FORMATS, export_charts


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in CHART_FORMATS]
    if unknown or not formats:
        raise click.BadParameter(
            f"unknown format(s) {', '.join(unknown) or '(none)'}; use a comma-separated list "
            f"of {', '.join(CHART_FORMATS)}")
    return formats


@main.command("report")
@click.argument("case")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True, help="Folder to write into.")
@click.option("--format", "formats", default="png,svg", show_default=True, callback=_formats,
              help=f"Comma-separated: {','.join(CHART_FORMATS)}.")
@click.option("--engine", type=click.Choice(ENGINES), default="exact", show_default=True)
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="Use only evidence reported on or before this date (default: today).")
@click.option("--seed", type=int, default=None, help="Random seed.")
@root_option
@user_errors
def report_command(case: str, out_dir: Path, formats: list[str], engine: str,
                   as_of: dt.date | None, seed: int | None, root: Path | None) -> None:
    """Write the charts of CASE's forecast to OUT."""
    forecast = run_forecast(open_case(root, case), engine=engine, as_of=as_of, seed=seed)
    for path in export_charts(forecast, out_dir, formats):
        click.echo(f"wrote {path}")
