"""``scenarios report``: write the charts and the briefing of a forecast."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from toolkit.core.errors import CaseError, Problem, display_path
from toolkit.inference.engines.base import ENGINES
from toolkit.model.case import Case
from toolkit.outputs.forecast import run_forecast
from toolkit.ui.cli.common import (
    DATE,
    SEED,
    main,
    open_case,
    root_option,
    user_errors,
)

#: The formats of :func:`toolkit.outputs.report.export_report` (kept here so that the command line
#: starts without importing the plotting stack; a test checks they agree).
REPORT_FORMATS = ("png", "svg", "pdf", "html", "csv")


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    formats = list(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    unknown = [f for f in formats if f not in REPORT_FORMATS]
    if unknown or not formats:
        raise click.BadParameter(
            f"unknown format(s) {', '.join(unknown) or '(none)'}; use a comma-separated list "
            f"of {', '.join(REPORT_FORMATS)}")
    return formats


def run_dynamic_model(case: Case, as_of: dt.date, seed: int | None) -> Any:
    """Run the dynamic model with its default sampler settings."""
    from toolkit.outputs.dynamic_forecast import run_dynamic

    return run_dynamic(case, as_of=as_of, seed=seed)


@main.command("report")
@click.argument("case")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True,
              help="Folder to write into (relative to the root).")
@click.option("--format", "formats", default="png,svg", show_default=True, callback=_formats,
              help="Comma-separated: png, svg (charts); pdf (briefing PDF plus chart PDFs); "
                   "html (self-contained briefing page); csv (evidence table).")
@click.option("--engine", type=click.Choice(ENGINES), default="exact", show_default=True)
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="Use only evidence reported on or before this date (default: today).")
@click.option("--seed", type=SEED, default=None, help="Random seed.")
@click.option("--force", is_flag=True,
              help="Replace files in OUT that a different run (inputs, engine, seed) wrote.")
@click.option("--dynamic", is_flag=True,
              help="Also run the dynamic (regime-switching) model: adds the timeline chart and "
                   "its horizon probabilities to the briefing. Samples with PyMC (slow).")
@click.option("--no-sensitivity", "no_sensitivity", is_flag=True,
              help="Leave out the tornado chart and the briefing's \"What would change the "
                   "forecast\" (about a thousand exact forecasts, seconds on the bundled "
                   "case).")
@click.option("--no-save", "no_save", is_flag=True,
              help="Do not save the forecast under runs/ (the report then names no run).")
@root_option
@user_errors
def report_command(case: str, out_dir: Path, formats: list[str], engine: str,
                   as_of: dt.date | None, seed: int | None, force: bool, dynamic: bool,
                   no_sensitivity: bool, no_save: bool, root: Path | None) -> None:
    """Write the charts and briefing of CASE's forecast to OUT.

    Files are named <case>-<as-of>-<chart>.<ext> and <case>-<as-of>-briefing.<ext>; a
    manifest beside them records which run wrote them. The forecast is saved as a run
    (runs/<case>/<run-id>/), whose id the briefing and the manifest give.
    """
    from toolkit.outputs.report import check_report, export_report
    from toolkit.store.runs import save_run

    loaded = open_case(root, case)
    if not out_dir.is_absolute():
        out_dir = loaded.paths.root / out_dir
    if out_dir.exists() and not out_dir.is_dir():  # e.g. /dev/null (click lets a device pass)
        raise CaseError([Problem("--out", None, str(out_dir), "exists and is not a folder",
                                 "give a folder to write the report into")])
    forecast = run_forecast(loaded, engine=engine, as_of=as_of, seed=seed)
    timeline = None
    if dynamic:
        click.echo("running the dynamic model (PyMC sampling) ...", err=True)
        timeline = run_dynamic_model(loaded, forecast.as_of, seed)
    check_report(forecast, out_dir, formats, loaded, force=force, dynamic=timeline,
                 sensitivity=not no_sensitivity)
    run_id = None if no_save else save_run(forecast, loaded.paths.root)
    if not no_sensitivity:
        click.echo("finding what would change the forecast (sensitivity, exact engine) ...",
                   err=True)
    written = export_report(forecast, out_dir, formats, loaded, force=force, dynamic=timeline,
                            sensitivity=not no_sensitivity)
    click.echo(forecast.headline())
    if timeline is not None:
        click.echo(timeline.headline())
    if not forecast.converged:
        click.echo("warning: the engine did not converge; the report is marked as such.",
                   err=True)
    if run_id is not None:
        click.echo(f"Saved run {run_id} (runs/{forecast.case}/{run_id}).")
    click.echo(f"wrote {len(written)} files to {display_path(Path(out_dir))}/:")
    for path in written:
        click.echo(f"  {path.name}")
