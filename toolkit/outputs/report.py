"""Exports: charts and briefings under stable names, never silently over another run.

Files are named ``<case>-<as-of>-<chart>.<ext>`` and ``<case>-<as-of>-briefing.<ext>``.
A sidecar ``<case>-<as-of>-manifest.json`` records which run (inputs, engine, seed,
weights) wrote them; writing files of a *different* run over them raises
:class:`~toolkit.core.errors.CaseError` unless ``force`` is given. :func:`export_report` is the
one code path of the command line and the notebooks; every write is atomic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from toolkit.core.atomic import write_text_atomic
from toolkit.core.errors import display_path
from toolkit.core.locks import folder_lock_path, locked
from toolkit.model.case import Case
from toolkit.outputs.briefing import ChartEmbed, build_briefing, evidence_csv, render_html
from toolkit.outputs.briefing.pdf import write_briefing_pdf
from toolkit.outputs.briefing.sections import (
    compute_questions,
    compute_sensitivity,
    compute_watch,
)
from toolkit.outputs.charts import (
    attribution_chart,
    freeze_layout,
    inline_svg,
    predictions_chart,
    prior_posterior_chart,
    probability_chart,
    save_figure,
    trail_chart,
)
from toolkit.outputs.forecast import Forecast
from toolkit.outputs.manifest import begin_outputs, check_outputs, output_path, write_manifest

CHART_FORMATS = ("png", "svg", "pdf")
#: ``pdf`` means the briefing PDF plus chart PDFs; ``html`` the briefing; ``csv`` the
#: evidence table.
REPORT_FORMATS = ("png", "svg", "pdf", "html", "csv")


@dataclass(frozen=True)
class ChartSpec:
    """A chart: how to draw it, what it shows, whether it needs the case."""

    draw: Callable[..., Figure]
    caption: str
    needs_case: bool = False
    takes_case: bool = False

    def __call__(self, forecast: Forecast, case: Case | None = None) -> Figure:
        """Draw the chart."""
        if self.needs_case:
            if case is None:
                raise ValueError("this chart needs the case")
            return self.draw(forecast, case)
        return self.draw(forecast, case) if self.takes_case else self.draw(forecast)


#: Chart name -> how to draw it, in briefing order.
CHARTS: dict[str, ChartSpec] = {
    "probabilities": ChartSpec(
        probability_chart,
        "Posterior probability of each scenario with its credible interval; the white "
        "diamond is the prior weight."),
    "trail": ChartSpec(
        trail_chart,
        "Each scenario's probability after every evidence item, by report date (items "
        "labelled by id); the right panel carries today's forecast to the horizon."),
    "prior-posterior": ChartSpec(
        prior_posterior_chart,
        "Prior weight (open bar) against the posterior after all evidence (filled bar)."),
    "attribution": ChartSpec(
        attribution_chart,
        "Each item's log Bayes factor per scenario, centred across scenarios: bars to the "
        "right mean the item favoured the scenario.", takes_case=True),
    "predictions": ChartSpec(
        predictions_chart,
        "For each indicator: the 90% interval each scenario predicted for the monthly "
        "rate (bars, median marked) against each observation (points, ranges, and arrows "
        "for bounds).", needs_case=True),
}


#: Inputs the report's tornado chart shows (the briefing lists the top five).
TORNADO_TOP = 10
#: Charts drawn from other computations: the case's questions (when it has a questions file),
#: the sensitivity analysis (with the case) and a dynamic-model run (when given), with their
#: captions.
EXTRA_CAPTIONS: dict[str, str] = {
    "calibration": "Calibration of the case's scored questions: observed frequency of yes "
                   "against the mean forecast per probability bin, with the number of "
                   "questions in each bin (exact engine, evidence up to each as-of date).",
    "questions": "Each question's probability of yes at monthly as-of dates up to this one "
                 "(exact engine); a star marks its resolution, at 100% for yes and 0% for no.",
    "sensitivity": "What would change the forecast: the leading scenario's probability with "
                   "each prior quantity halved (one end of its bar) and doubled (the other), "
                   "the rest as saved, most influential on top; the line is the forecast "
                   "(exact engine).",
    "timeline": "Dynamic model: each regime's probability month by month (filtered up to the "
                "as-of month, projected to the horizon) with shaded credible intervals.",
}


def chart_path(out_dir: Path, forecast: Forecast, chart: str, ext: str) -> Path:
    """Stable file name of a chart."""
    return output_path(out_dir, forecast, chart, ext)


def report_inputs(case: Case | None, questions_file: Path | None = None) -> dict[str, str]:
    """Hashes of the files a report reads beyond the forecast's own inputs.

    The questions file: ``questions_file`` when given (a backtest of other questions),
    else the case's own when it has one.
    """
    path = questions_file or (case.paths.questions if case is not None else None)
    if path is None or not Path(path).exists():
        return {}
    return {"questions": hashlib.sha256(Path(path).read_bytes()).hexdigest()}


def extra_charts(case: Case | None, dynamic: Any = None, sensitivity: bool = True) -> list[str]:
    """Names of the extra charts a report writes (see :data:`EXTRA_CAPTIONS`)."""
    names = []
    if case is not None and case.paths.questions.exists():
        names += ["calibration", "questions"]
    if case is not None and sensitivity:
        names.append("sensitivity")
    if dynamic is not None:
        names.append("timeline")
    return names


def _extra_figures(names: list[str], questions: Any, drivers: Any,
                   dynamic: Any) -> dict[str, Figure]:
    from toolkit.outputs.charts.questions import calibration_chart, question_paths_chart

    figures = {}
    if "calibration" in names:
        figures["calibration"] = calibration_chart(questions[0])
        figures["questions"] = question_paths_chart(questions[1])
    if "sensitivity" in names:
        from toolkit.outputs.charts.tornado import tornado_chart

        figures["sensitivity"] = tornado_chart(drivers, TORNADO_TOP)
    if "timeline" in names:
        from toolkit.outputs.charts.timeline import timeline_chart

        figures["timeline"] = timeline_chart(dynamic)
    return {name: freeze_layout(figure) for name, figure in figures.items()}


def _plan(forecast: Forecast, out_dir: Path, formats: list[str], case: Case | None,
          briefing: bool, extra: list[str]) -> tuple[list[str], list[Path]]:
    charts = [name for name, spec in CHARTS.items() if case is not None or not spec.needs_case]
    charts += extra
    targets = [chart_path(out_dir, forecast, name, ext)
               for name in charts for ext in formats if ext in CHART_FORMATS]
    if briefing:
        targets += [output_path(out_dir, forecast, "briefing", ext)
                    for ext in ("pdf", "html") if ext in formats]
        if "csv" in formats:
            targets.append(output_path(out_dir, forecast, "evidence", "csv"))
    return charts, targets


def check_report(forecast: Forecast, out_dir: Path, formats: list[str],
                 case: Case | None = None, *, force: bool = False, dynamic: Any = None,
                 sensitivity: bool = True) -> None:
    """Raise the :class:`CaseError` :func:`export_report` would, before any work is saved.

    The command line calls it before saving the report's run, so a refused report changes
    no file; :func:`export_report` checks again under the folder's lock.
    """
    extra = extra_charts(case, dynamic, sensitivity)
    _, targets = _plan(forecast, Path(out_dir), formats, case, True, extra)
    inputs = report_inputs(case) if "calibration" in extra else {}
    check_outputs(Path(out_dir), forecast, targets, force, inputs)


def export_report(forecast: Forecast, out_dir: Path, formats: list[str],
                  case: Case | None = None, *, force: bool = False,
                  briefing: bool = True, dynamic: Any = None,
                  sensitivity: bool = True,
                  progress: Callable[[int, int, str], None] | None = None) -> list[Path]:
    """Write the charts and, with the case, the briefing, in the requested formats.

    Parameters
    ----------
    forecast : Forecast
        The forecast to export.
    out_dir : Path
        Folder to write into (created if missing).
    formats : list of str
        Subset of :data:`REPORT_FORMATS`: ``png``/``svg`` charts; ``pdf`` chart PDFs plus
        the briefing PDF; ``html`` the briefing page; ``csv`` the evidence table.
    case : Case, optional
        Needed for the briefing and the predictions chart.
    force : bool
        Replace files that a different run wrote.
    briefing : bool
        Also write the briefing files (``pdf``, ``html``, ``csv``); the briefing gets a
        "What to watch next" section (:func:`toolkit.outputs.watch.watch`, exact engine).
    dynamic : DynamicForecast, optional
        A :func:`toolkit.outputs.dynamic_forecast.run_dynamic` result: adds the ``timeline``
        chart and a line with its horizon probabilities.
    sensitivity : bool
        With the case: run the sensitivity analysis
        (:func:`toolkit.outputs.briefing.sections.compute_sensitivity`, exact engine, on
        the forecast's weights and evidence), write the ``sensitivity`` tornado chart and
        give the briefing a "What would change the forecast" section.
    progress : callable, optional
        ``progress(done, total, file name)`` before each file is written; an exception it
        raises (a dashboard's Cancel) stops the export there, leaving complete files and a
        manifest an identical export may finish.

    Notes
    -----
    When the case has a questions file, its questions are backtested at the forecast's as-of
    date with the exact engine: the ``calibration`` and ``questions`` charts are written and
    the briefing gets a "Questions" section.

    Returns
    -------
    list of Path
        Files written (the manifest last).

    Raises
    ------
    CaseError
        If files of a different run are in the way (see :func:`check_outputs`).
    ValueError
        For an unknown format, or briefing formats without the case.
    """
    out_dir = Path(out_dir)
    unknown = [f for f in formats if f not in REPORT_FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}; use {', '.join(REPORT_FORMATS)}")
    wants_briefing = briefing and any(f in formats for f in ("pdf", "html", "csv"))
    if wants_briefing and case is None:
        raise ValueError("the briefing (pdf, html, csv) needs the case")
    extra = extra_charts(case, dynamic, sensitivity)
    charts, targets = _plan(forecast, out_dir, formats, case, briefing, extra)
    inputs = report_inputs(case) if "calibration" in extra else {}
    with locked(folder_lock_path(out_dir), display_path(out_dir)):
        kept = check_outputs(out_dir, forecast, targets, force, inputs)
        questions = compute_questions(case, forecast) if "calibration" in extra else None
        drivers = (compute_sensitivity(case, forecast)
                   if case is not None and "sensitivity" in extra else None)
        figures = {name: freeze_layout(CHARTS[name](forecast, case))
                   for name in charts if name in CHARTS}
        figures.update(_extra_figures(extra, questions, drivers, dynamic))
        written: list[Path] = []
        step = progress or (lambda done, total, what: None)
        step(0, len(targets), "starting")  # a Cancel before any file changes nothing
        begin_outputs(out_dir, forecast, kept, targets, inputs)
        for name, figure in figures.items():
            for ext in (f for f in formats if f in CHART_FORMATS):
                path = chart_path(out_dir, forecast, name, ext)
                step(len(written), len(targets), path.name)
                written.append(save_figure(figure, path, close=False))
        if wants_briefing:
            assert case is not None
            content = build_briefing(forecast, case,
                                     questions=questions[0] if questions else None,
                                     watch=compute_watch(case, forecast),
                                     sensitivity=drivers, dynamic=dynamic)
            step(len(written), len(targets), "briefing")
            if "pdf" in formats:
                path = output_path(out_dir, forecast, "briefing", "pdf")
                write_briefing_pdf(content, list(figures.values()), path)
                written.append(path)
            if "html" in formats:
                embeds = [ChartEmbed(name, _caption(name),
                                     inline_svg(figure, salt=f"{forecast.case}-{name}"))
                          for name, figure in figures.items()]
                path = output_path(out_dir, forecast, "briefing", "html")
                write_text_atomic(path, render_html(content, embeds))
                written.append(path)
            if "csv" in formats:
                path = output_path(out_dir, forecast, "evidence", "csv")
                write_text_atomic(path, evidence_csv(content))
                written.append(path)
        written.append(write_manifest(out_dir, forecast, kept, written, inputs))
    return written


def export_question_charts(result: Any, out_dir: Path, formats: list[str],
                           questions_file: Path | None = None, *,
                           force: bool = False) -> list[Path]:
    """Save a backtest's calibration chart (and a rolling one's paths) under the guard.

    The files share the report's names and manifest (:mod:`toolkit.outputs.manifest`): a
    backtest of the run a report came from adds to its folder; files of another run are
    refused unless ``force`` is given.

    Parameters
    ----------
    result : Backtest or Rolling
        The backtest (its last step's forecast is the run checked against the manifest).
    out_dir : Path
        Folder to write into (created if missing).
    formats : list of str
        Subset of :data:`CHART_FORMATS`.
    questions_file : Path, optional
        The questions file the backtest read, recorded among the inputs as a report records
        the case's own (so a backtest of other questions is another run).
    force : bool
        Replace files that a different run wrote.

    Returns
    -------
    list of Path
        Files written (the manifest last).
    """
    from toolkit.outputs.charts.questions import question_chart_files

    forecast = (result.steps[-1] if hasattr(result, "steps") else result).forecast
    out_dir = Path(out_dir)
    inputs = report_inputs(None, questions_file)
    files = question_chart_files(result, out_dir, formats)
    with locked(folder_lock_path(out_dir), display_path(out_dir)):
        kept = check_outputs(out_dir, forecast, list(files), force, inputs)
        begin_outputs(out_dir, forecast, kept, list(files), inputs)
        written = [save_figure(figure, path, close=False) for path, figure in files.items()]
        written.append(write_manifest(out_dir, forecast, kept, written, inputs))
    return written


def _caption(name: str) -> str:
    return CHARTS[name].caption if name in CHARTS else EXTRA_CAPTIONS[name]


def export_charts(forecast: Forecast, out_dir: Path, formats: list[str],
                  case: Case | None = None, *, force: bool = False,
                  sensitivity: bool = True,
                  progress: Callable[[int, int, str], None] | None = None) -> list[Path]:
    """Draw every chart and save it in each requested format.

    Parameters
    ----------
    forecast : Forecast
        The forecast to export.
    out_dir : Path
        Folder to write into (created if missing).
    formats : list of str
        Subset of :data:`CHART_FORMATS`.
    case : Case, optional
        Adds the charts that need the case (predicted against observed).
    force : bool
        Replace files that a different run wrote.
    sensitivity : bool
        With the case, also the ``sensitivity`` tornado chart.
    progress : callable, optional
        As for :func:`export_report`.

    Returns
    -------
    list of Path
        Files written (the manifest last).
    """
    unknown = [f for f in formats if f not in CHART_FORMATS]
    if unknown:
        raise ValueError(f"unknown chart format(s) {unknown}; use {', '.join(CHART_FORMATS)}")
    return export_report(forecast, out_dir, formats, case, force=force, briefing=False,
                         sensitivity=sensitivity, progress=progress)
