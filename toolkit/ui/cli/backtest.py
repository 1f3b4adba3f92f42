"""``scenarios backtest``: forecast a case's questions from what was known, and score them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from toolkit.core.jsonio import dumps
from toolkit.inference.engines.base import ENGINES
from toolkit.outputs.language import percent
from toolkit.ui.cli.common import (
    DATE,
    SEED,
    main,
    open_case,
    root_option,
    user_errors,
)

if TYPE_CHECKING:  # the scoring stack is imported by the commands that use it
    from toolkit.outputs.backtest import Backtest, Rolling


def _engine_options(draws: int | None, chains: int | None) -> dict[str, Any]:
    return {k: v for k, v in (("draws", draws), ("chains", chains)) if v is not None}


@main.command("backtest")
@click.argument("case")
@click.option("--questions", "questions_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Questions file (default: questions/CASE.yaml).")
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="Use only evidence reported on or before this date (default: today; with "
              "--rolling, the first as-of date, default the earliest window start).")
@click.option("--until", type=DATE, default=None,
              help="With --rolling: the last as-of date (default: the latest resolution).")
@click.option("--rolling", is_flag=True, help="Step the as-of date monthly.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--engine", type=click.Choice(ENGINES), default="exact", show_default=True)
@click.option("--seed", type=SEED, default=None, help="Random seed (PyMC engine).")
@click.option("--draws", type=click.IntRange(min=100), default=None, help="PyMC draws per chain.")
@click.option("--chains", type=click.IntRange(min=1), default=None, help="PyMC chains.")
@click.option("--charts", "charts_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Also write the calibration (and, with --rolling, the "
              "probability-path) chart as PNG and SVG into this folder (relative to the "
              "root); files of another run there are refused unless --force.")
@click.option("--force", is_flag=True,
              help="With --charts: replace files in the folder that a different run wrote.")
@click.option("--scheduler", default="serial", show_default=True, metavar="ADDRESS",
              help="With --rolling: where the monthly backtests run: 'serial' (this process), "
                   "'local' (a Dask LocalCluster of --workers) or a Dask scheduler address "
                   "(tcp://host:8786).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes of a local cluster.")
@root_option
@user_errors
def backtest_command(
    case: str, questions_file: Path | None, as_of: dt.date | None, until: dt.date | None,
    rolling: bool, as_json: bool, engine: str, seed: int | None, draws: int | None,
    chains: int | None, charts_dir: Path | None, force: bool, scheduler: str, workers: int,
    root: Path | None,
) -> None:
    """Forecast CASE's questions from the evidence known at a date and score resolved ones."""
    from toolkit.model.questions import load_questions
    from toolkit.outputs.backtest import backtest, rolling_backtest

    if scheduler != "serial" and not rolling:
        raise click.UsageError("--scheduler applies only with --rolling (one backtest is "
                               "one forecast); add --rolling or leave --scheduler out")

    if until is not None and not rolling:
        raise click.UsageError("--until applies only with --rolling (the last monthly as-of "
                               "date); add --rolling or leave --until out")
    if rolling and until is not None and as_of is not None and until < as_of:
        raise click.UsageError(f"--until {until} is before --as-of {as_of}, so there is no "
                               "month to step through; give an --until on or after --as-of")
    loaded = open_case(root, case)
    questions = load_questions(loaded, questions_file)
    options = _engine_options(draws, chains)
    if rolling:
        from toolkit.outputs.tasks import Runner

        runner = Runner(None if scheduler == "local" else scheduler, workers)
        with runner:
            result: Backtest | Rolling = rolling_backtest(loaded, questions, as_of, until,
                                                          engine, seed, runner, **options)
    else:
        result = backtest(loaded, questions, as_of or dt.date.today(), engine, seed, **options)
    if charts_dir is not None:
        from toolkit.outputs.report import export_question_charts

        folder = charts_dir if charts_dir.is_absolute() else loaded.paths.root / charts_dir
        for path in export_question_charts(result, folder, ["png", "svg"], questions.path,
                                           force=force):
            click.echo(f"wrote {path}", err=as_json)
    if as_json:
        click.echo(dumps(result.to_dict(), indent=2))
    elif rolling:
        click.echo(render_rolling(result))
    else:
        click.echo(render_backtest(result))


def _score(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_backtest(result: Backtest) -> str:
    """The human-readable backtest: questions, scores against baselines, calibration."""
    lines = [f"Backtest of {result.case} as of {result.as_of.isoformat()} | engine: "
             f"{result.engine} | {len(result.forecast.items)} evidence items used", ""]
    if not result.forecast.converged:
        lines[1:1] = ["WARNING: the sampler did not converge; these are not final numbers."]
    width = max(8, *(len(r.question.id) for r in result.results))
    lines.append(f"  {'Question':<{width}}  {'Model':>5}  {'Prior':>5}  {'Outcome':<7}  "
                 f"{'Brier':>6}  {'Log':>7}  Status")
    for r in result.results:
        s = r.scores() or {}
        lines.append(
            f"  {r.question.id:<{width}}  {percent(r.probability):>5}  "
            f"{percent(r.prior.probability):>5}  {r.question.resolution or '-':<7}  "
            f"{_score(s.get('brier')):>6}  {_score(s.get('log')):>7}  {r.status}")
    summary = result.summary
    lines.append("")
    if not summary.get("scored"):
        lines.append("No question resolved after the as-of date: nothing to score.")
        return "\n".join(lines)
    lines += [
        f"Scored {summary['scored']} of {summary['questions']} questions "
        "(Brier: lower is better; log: higher is better).",
        f"  {'':<12} {'Brier':>7} {'Log':>8}",
        f"  {'model':<12} {summary['mean_brier']:>7.3f} {summary['mean_log']:>8.3f}",
        f"  {'50% always':<12} {summary['mean_brier_50']:>7.3f} {summary['mean_log_50']:>8.3f}",
        f"  {'prior alone':<12} {summary['mean_brier_prior']:>7.3f} "
        f"{summary['mean_log_prior']:>8.3f}",
        "", "Calibration (forecast bin: count, mean forecast, observed frequency):",
    ]
    for row in result.calibration:
        if row["count"]:
            lines.append(f"  {row['low']:.0%}-{row['high']:.0%}: {row['count']:>3}  "
                         f"{row['mean_forecast']:.2f}  {row['observed_frequency']:.2f}")
    return "\n".join(lines)


def render_rolling(result: Rolling) -> str:
    """How each question's probability moved as the as-of date stepped monthly."""
    dates = [s.as_of for s in result.steps]
    lines = [f"Rolling backtest of {result.steps[-1].case}: {len(dates)} monthly as-of dates "
             f"from {dates[0].isoformat()} to {dates[-1].isoformat()}", ""]
    series = result.series()
    for r in result.steps[-1].results:
        values = [p for _, p in series[r.question.id]]
        resolution = r.question.resolution or "open"
        lines.append(f"  {r.question.id} ({resolution}): " + " ".join(percent(p) for p in values))
    return "\n".join(lines)
