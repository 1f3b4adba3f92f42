"""Exports: charts and briefings under stable names, never silently over another run.

Files are named ``<case>-<as-of>-<chart>.<ext>`` and ``<case>-<as-of>-briefing.<ext>``.
A sidecar ``<case>-<as-of>-manifest.json`` records which run (inputs, engine, seed,
weights) wrote them; writing files of a *different* run over them raises
:class:`~toolkit.core.errors.CaseError` unless ``force`` is given. :func:`export_report` is the
one code path of the command line and the notebooks; every write is atomic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from toolkit import __version__
from toolkit.core.atomic import write_text_atomic
from toolkit.core.errors import CaseError, Problem, display_path
from toolkit.model.case import Case
from toolkit.outputs.briefing import ChartEmbed, build_briefing, evidence_csv, render_html
from toolkit.outputs.briefing.pdf import write_briefing_pdf
from toolkit.outputs.briefing.sections import compute_questions, compute_watch
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

CHART_FORMATS = ("png", "svg", "pdf")
#: ``pdf`` means the briefing PDF plus chart PDFs; ``html`` the briefing; ``csv`` the
#: evidence table.
REPORT_FORMATS = ("png", "svg", "pdf", "html", "csv")
MANIFEST_VERSION = 1


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


#: Charts drawn from other computations: the case's questions (when it has a questions file)
#: and a dynamic-model run (when given), with their captions.
EXTRA_CAPTIONS: dict[str, str] = {
    "calibration": "Calibration of the case's scored questions: observed frequency of yes "
                   "against the mean forecast per probability bin, with the number of "
                   "questions in each bin (exact engine, evidence up to each as-of date).",
    "questions": "Each question's probability of yes at monthly as-of dates up to this one "
                 "(exact engine); a star marks its resolution, at 100% for yes and 0% for no.",
    "timeline": "Dynamic model: each regime's probability month by month (filtered up to the "
                "as-of month, projected to the horizon) with shaded credible intervals.",
}


def output_path(out_dir: Path, forecast: Forecast, what: str, ext: str) -> Path:
    """Stable file name ``<case>-<as-of>-<what>.<ext>``."""
    return Path(out_dir) / f"{forecast.case}-{forecast.as_of.isoformat()}-{what}.{ext}"


def chart_path(out_dir: Path, forecast: Forecast, chart: str, ext: str) -> Path:
    """Stable file name of a chart."""
    return output_path(out_dir, forecast, chart, ext)


def manifest_path(out_dir: Path, forecast: Forecast) -> Path:
    """The sidecar manifest recording which run wrote the files."""
    return output_path(out_dir, forecast, "manifest", "json")


def fingerprint(forecast: Forecast, report_inputs: dict[str, str] | None = None) -> dict[str, Any]:
    """What makes two reports the same run for the purpose of overwriting files.

    Parameters
    ----------
    forecast : Forecast
        The forecast reported.
    report_inputs : dict, optional
        Hashes of further files the report reads (the questions file, see
        :func:`report_inputs`), recorded with the forecast's input hashes.
    """
    inputs = {**forecast.input_hashes, **(report_inputs or {})}
    return {
        "case": forecast.case,
        "as_of": forecast.as_of.isoformat(),
        "engine": forecast.engine,
        "seed": int(forecast.seed),
        "inputs": dict(sorted(inputs.items())),
        "weights": [round(float(w), 10) for w in forecast.prior],
        "level": float(forecast.interval_level),
    }


def report_inputs(case: Case | None) -> dict[str, str]:
    """Hashes of the files a report reads beyond the forecast's own inputs."""
    if case is None or not case.paths.questions.exists():
        return {}
    return {"questions": hashlib.sha256(case.paths.questions.read_bytes()).hexdigest()}


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    changed = []
    for key in ("engine", "seed"):
        if old.get(key) != new.get(key):
            changed.append(f"{key} {old.get(key)} -> {new.get(key)}")
    if old.get("inputs") != new.get("inputs"):
        changed.append("different case files")
    if old.get("weights") != new.get("weights"):
        changed.append("different prior weights")
    if old.get("level") != new.get("level"):
        changed.append("different interval level")
    return ", ".join(changed) or "a different run"


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_outputs(out_dir: Path, forecast: Forecast, targets: list[Path],
                  force: bool = False, inputs: dict[str, str] | None = None) -> dict[str, str]:
    """Refuse to replace files that a different run wrote.

    Parameters
    ----------
    out_dir : Path
        The output folder.
    forecast : Forecast
        The run about to write.
    targets : list of Path
        Files it will write.
    force : bool
        Replace them anyway.
    inputs : dict, optional
        Hashes of further files the report reads (:func:`report_inputs`).

    Returns
    -------
    dict
        Files (name -> sha256) already recorded for this same run, to keep in the manifest.

    Raises
    ------
    CaseError
        Naming the files, when they came from a different run or from an unknown one.
    """
    path = manifest_path(out_dir, forecast)
    manifest = _read_manifest(path) if path.exists() else None
    mine = fingerprint(forecast, inputs)
    if manifest is not None and manifest.get("fingerprint") == mine:
        files = manifest.get("files", {})
        return {name: digest for name, digest in files.items() if (out_dir / name).exists()} \
            if isinstance(files, dict) else {}
    if force:
        return {}
    existing = [t for t in targets if t.exists()]
    if manifest is not None:
        recorded = manifest.get("files", {})
        existing += [out_dir / name for name in (recorded if isinstance(recorded, dict) else {})
                     if (out_dir / name).exists() and out_dir / name not in existing]
        previous = manifest.get("fingerprint") or {}
        reason = f"they came from a different run ({_differences(previous, mine)})"
    else:
        if path.exists():
            existing.append(path)
        reason = "no manifest says which run wrote them"
    if not existing:
        return {}
    names = ", ".join(sorted(p.name for p in existing))
    raise CaseError([Problem(
        display_path(Path(out_dir)), None, "--out",
        f"will not overwrite {len(existing)} existing file(s), because {reason}: {names}",
        "pass --force to replace them, or write to another folder with --out")])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(out_dir: Path, forecast: Forecast, kept: dict[str, str],
                    written: list[Path], inputs: dict[str, str] | None = None) -> Path:
    files = dict(kept)
    files.update({p.name: _sha256(p) for p in written})
    document = {
        "schema_version": MANIFEST_VERSION,
        "generator": f"scenario-toolkit {__version__}",
        "fingerprint": fingerprint(forecast, inputs),
        "run_id": forecast.extras.get("run_id"),
        "files": dict(sorted(files.items())),
    }
    path = manifest_path(out_dir, forecast)
    write_text_atomic(path, json.dumps(document, indent=2, sort_keys=False) + "\n")
    return path


def extra_charts(case: Case | None, dynamic: Any = None) -> list[str]:
    """Names of the extra charts a report writes (see :data:`EXTRA_CAPTIONS`)."""
    names = []
    if case is not None and case.paths.questions.exists():
        names += ["calibration", "questions"]
    if dynamic is not None:
        names.append("timeline")
    return names


def _extra_figures(names: list[str], questions: Any, dynamic: Any) -> dict[str, Figure]:
    from toolkit.outputs.charts.questions import calibration_chart, question_paths_chart

    figures = {}
    if "calibration" in names:
        figures["calibration"] = calibration_chart(questions[0])
        figures["questions"] = question_paths_chart(questions[1])
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


def export_report(forecast: Forecast, out_dir: Path, formats: list[str],
                  case: Case | None = None, *, force: bool = False,
                  briefing: bool = True, dynamic: Any = None) -> list[Path]:
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
    extra = extra_charts(case, dynamic)
    charts, targets = _plan(forecast, out_dir, formats, case, briefing, extra)
    inputs = report_inputs(case) if "calibration" in extra else {}
    kept = check_outputs(out_dir, forecast, targets, force, inputs)
    questions = compute_questions(case, forecast) if "calibration" in extra else None
    figures = {name: freeze_layout(CHARTS[name](forecast, case))
               for name in charts if name in CHARTS}
    figures.update(_extra_figures(extra, questions, dynamic))
    written: list[Path] = []
    for name, figure in figures.items():
        for ext in (f for f in formats if f in CHART_FORMATS):
            written.append(save_figure(figure, chart_path(out_dir, forecast, name, ext),
                                       close=False))
    if wants_briefing:
        assert case is not None
        content = build_briefing(forecast, case,
                                 questions=questions[0] if questions else None,
                                 watch=compute_watch(case, forecast), dynamic=dynamic)
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
    written.append(_write_manifest(out_dir, forecast, kept, written, inputs))
    return written


def _caption(name: str) -> str:
    return CHARTS[name].caption if name in CHARTS else EXTRA_CAPTIONS[name]


def export_charts(forecast: Forecast, out_dir: Path, formats: list[str],
                  case: Case | None = None, *, force: bool = False) -> list[Path]:
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

    Returns
    -------
    list of Path
        Files written (the manifest last).
    """
    unknown = [f for f in formats if f not in CHART_FORMATS]
    if unknown:
        raise ValueError(f"unknown chart format(s) {unknown}; use {', '.join(CHART_FORMATS)}")
    return export_report(forecast, out_dir, formats, case, force=force, briefing=False)
