"""What a briefing says, independent of its format (HTML, PDF, CSV).

:func:`build_briefing` turns a forecast and its case into plain data: the headline in
ICD 203 estimative language, the scenario table, the key drivers as sentences, the
evidence table with sources and reliability, diagnostics and warnings, and the run
manifest. Every renderer reads this one object, so the formats cannot disagree.
Text here is raw case text: each renderer escapes it for its own medium.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np

from toolkit import __version__
from toolkit.model.case import Case
from toolkit.outputs.briefing.sections import (
    QuestionRow,
    SensitivityRow,
    WatchRow,
    dynamic_line,
    question_rows,
    questions_note,
    sensitivity_note,
    sensitivity_rows,
    watch_note,
    watch_rows,
)
from toolkit.outputs.forecast import INTERVAL_MEANING, Forecast
from toolkit.outputs.language import estimative_word, percent

#: Packages whose versions the manifest records (and, for the PyMC engine, its stack).
BASE_PACKAGES = ("numpy", "scipy", "matplotlib", "pydantic")
PYMC_PACKAGES = ("pymc", "pytensor", "arviz", "nutpie")
#: Leading characters a spreadsheet would run as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ScenarioRow:
    """One scenario's line in the summary table."""

    id: str
    label: str
    prior: float
    probability: float
    low: float
    high: float

    @property
    def word(self) -> str:
        """ICD 203 expression of the probability."""
        return estimative_word(self.probability)


@dataclass(frozen=True)
class EvidenceRow:
    """One evidence item as a reader sees it, with its source and effect."""

    id: str
    reported_on: dt.date
    period_start: dt.date
    period_end: dt.date
    indicator: str
    indicator_label: str
    value: str
    unit: str
    reliability_text: str
    reliability: float
    claim_id: str
    claim_summary: str
    source_title: str
    source_publisher: str
    source_date: str
    source_url: str
    note: str
    log_bayes_factors: dict[str, float]
    after: dict[str, float]


@dataclass(frozen=True)
class Briefing:
    """Everything a briefing shows."""

    case: str
    title: str
    question: str
    horizon: dt.date
    as_of: dt.date
    engine: str
    seed: int
    run_id: str | None
    converged: bool
    headline: str
    interval_level: float
    scenarios: list[ScenarioRow]
    drivers: list[str]
    evidence: list[EvidenceRow]
    excluded: dict[str, list[str]]
    diagnostics: list[tuple[str, str]]
    warnings: list[str]
    manifest: list[tuple[str, str]]
    input_hashes: dict[str, str] = field(default_factory=dict)
    questions: list[QuestionRow] = field(default_factory=list)
    questions_note: str = ""
    watch: list[WatchRow] = field(default_factory=list)
    watch_note: str = ""
    sensitivity: list[SensitivityRow] = field(default_factory=list)
    sensitivity_note: str = ""
    dynamic: str = ""

    @property
    def scenario_labels(self) -> dict[str, str]:
        """Scenario id -> label."""
        return {row.id: row.label for row in self.scenarios}

    @property
    def meta_line(self) -> str:
        """``case | as of | engine | run`` on one line."""
        run = f"run {self.run_id}" if self.run_id else "unsaved run"
        return (f"case {self.case} | as of {self.as_of.isoformat()} | {self.engine} engine | "
                f"seed {self.seed} | {run}")


def driver_sentences(forecast: Forecast, case: Case | None = None, top: int = 3) -> list[str]:
    """Key drivers as sentences: "X rose from 52% to 68% after E07 (...), likelihood ratio 2.1".

    Parameters
    ----------
    forecast : Forecast
        The forecast.
    case : Case, optional
        Gives indicator labels.
    top : int
        How many of the largest moves to describe.

    Returns
    -------
    list of str
        One sentence per move, largest first.
    """
    labels = dict(zip(forecast.scenario_ids, forecast.labels, strict=True))
    items = {item.id: item for item in forecast.items}
    out = []
    for move in forecast.drivers(top=top):
        item = items[move["item"]]
        indicator = _indicator_label(case, item.indicator)
        verb = "rose" if move["change"] > 0 else "fell"
        ratio = move["likelihood_ratio"]
        ratio_text = "n/a" if not math.isfinite(ratio) else f"{ratio:.2g}"
        out.append(
            f"{labels[move['scenario']]} {verb} from {percent(move['from'])} to "
            f"{percent(move['to'])} after {item.id} ({indicator}: {item.value} {item.unit}, "
            f"reported {item.reported_on.isoformat()}), likelihood ratio {ratio_text}."
        )
    return out


def _indicator_label(case: Case | None, indicator: str) -> str:
    if case is not None and indicator in case.indicators:
        return case.indicators[indicator].label
    return indicator


def _claim_sources(case: Case) -> dict[str, Any]:
    return {claim.id: digest.source for digest in case.sources for claim in digest.claims}


def evidence_rows(forecast: Forecast, case: Case) -> list[EvidenceRow]:
    """The evidence used, in report order, with claim summaries, sources and effects."""
    sources = _claim_sources(case)
    attribution = forecast.attribution
    rows = []
    for i, item in enumerate(forecast.items):
        claim = case.claims.get(item.source)
        source = sources.get(item.source)
        rows.append(EvidenceRow(
            id=item.id, reported_on=item.reported_on, period_start=item.period_start,
            period_end=item.period_end, indicator=item.indicator,
            indicator_label=_indicator_label(case, item.indicator), value=item.value,
            unit=item.unit, reliability_text=item.reliability_text,
            reliability=item.reliability, claim_id=item.source,
            claim_summary=" ".join(claim.summary.split()) if claim else "",
            source_title=source.title if source else "",
            source_publisher=source.publisher if source else "",
            source_date=str(source.date) if source else "",
            source_url=(source.url or "") if source else "",
            note=item.note,
            log_bayes_factors=dict(zip(forecast.scenario_ids, map(float, attribution[i]),
                                       strict=True)),
            after=dict(zip(forecast.scenario_ids, map(float, forecast.trail[i + 1]),
                           strict=True)),
        ))
    return rows


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        shown = ", ".join(_format(v) for v in list(value)[:12])
        return shown + (f", ... ({len(value)} values)" if len(value) > 12 else "")
    return str(value)


def diagnostic_rows(diagnostics: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten an engine's diagnostics into ``(name, value)`` rows."""
    rows: list[tuple[str, str]] = []
    for key, value in diagnostics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(diagnostic_rows(value, prefix=f"{name}."))
        else:
            rows.append((name, _format(value)))
    return rows


def package_versions(engine: str) -> dict[str, str]:
    """Versions of Python, the toolkit and the packages the run depended on."""
    names = BASE_PACKAGES + (PYMC_PACKAGES if engine == "pymc" else ())
    versions = {"python": platform.python_version(), "scenario-toolkit": __version__}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def manifest_rows(forecast: Forecast) -> list[tuple[str, str]]:
    """The run manifest: what would reproduce these numbers."""
    run = forecast.extras.get("run_id")
    rows = [
        ("case", forecast.case),
        ("run id", str(run) if run else "not saved"),
        ("as of", forecast.as_of.isoformat()),
        ("engine", forecast.engine),
        ("seed", str(forecast.seed)),
        ("prior weights", ", ".join(f"{sid} {float(w):.4g}" for sid, w in
                                    zip(forecast.scenario_ids, forecast.prior, strict=True))),
        ("credible interval", f"{forecast.interval_level:.0%}: {INTERVAL_MEANING}"),
    ]
    rows += [(f"sha256 {name}", digest) for name, digest in forecast.input_hashes.items()]
    rows += [(f"version {name}", version)
             for name, version in package_versions(forecast.engine).items()]
    return rows


def build_briefing(forecast: Forecast, case: Case, *, questions: Any = None,
                   watch: Any = None, sensitivity: Any = None,
                   dynamic: Any = None) -> Briefing:
    """Gather everything the briefing shows.

    Parameters
    ----------
    forecast : Forecast
        The forecast to brief.
    case : Case
        Its case (claims, sources, indicator labels).
    questions : Backtest, optional
        The case's questions backtested at the as-of date ("Questions" section).
    watch : list of WatchEntry, optional
        The ranking of :func:`toolkit.outputs.watch.watch` ("What to watch next", top five).
    sensitivity : Sensitivity, optional
        The result of :func:`toolkit.outputs.sensitivity.sensitivity` ("What would change
        the forecast", top five).
    dynamic : DynamicForecast, optional
        A dynamic-model run; its horizon probabilities get a line.

    Returns
    -------
    Briefing
        Plain data for the renderers.
    """
    warnings = []
    if not forecast.converged:
        warnings.append("The engine's convergence checks failed: these probabilities are not "
                        "reliable. Rerun with more draws or chains before using them.")
    if not forecast.items:
        warnings.append("No evidence was used: the probabilities are the prior weights.")
    return Briefing(
        case=forecast.case, title=forecast.title, question=" ".join(forecast.question.split()),
        horizon=forecast.horizon, as_of=forecast.as_of, engine=forecast.engine,
        seed=forecast.seed, run_id=forecast.extras.get("run_id"), converged=forecast.converged,
        headline=forecast.headline(), interval_level=forecast.interval_level,
        scenarios=[ScenarioRow(sid, label, float(forecast.prior[k]),
                               float(forecast.probabilities[k]),
                               float(forecast.intervals[k, 0]), float(forecast.intervals[k, 1]))
                   for k, (sid, label) in enumerate(zip(forecast.scenario_ids, forecast.labels,
                                                        strict=True))],
        drivers=driver_sentences(forecast, case),
        evidence=evidence_rows(forecast, case),
        excluded={reason: list(ids) for reason, ids in forecast.excluded.items()},
        diagnostics=diagnostic_rows(forecast.diagnostics),
        warnings=warnings,
        manifest=manifest_rows(forecast),
        input_hashes=dict(forecast.input_hashes),
        questions=question_rows(questions) if questions is not None else [],
        questions_note=questions_note(questions) if questions is not None else "",
        watch=watch_rows(watch) if watch is not None else [],
        watch_note=watch_note(watch) if watch is not None else "",
        sensitivity=sensitivity_rows(sensitivity) if sensitivity is not None else [],
        sensitivity_note=sensitivity_note(sensitivity) if sensitivity is not None else "",
        dynamic=dynamic_line(dynamic) if dynamic is not None else "",
    )


def spreadsheet_safe(cell: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with a single quote."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def evidence_csv(briefing: Briefing) -> str:
    """The evidence table as CSV, formula-safe, with each item's effect per scenario."""
    ids = [row.id for row in briefing.scenarios]
    header = ["id", "reported_on", "period_start", "period_end", "indicator", "value", "unit",
              "reliability", "reliability_weight", "source", "source_title", "claim_summary",
              "note", *[f"log_bf_{sid}" for sid in ids], *[f"p_after_{sid}" for sid in ids]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in briefing.evidence:
        cells: list[Any] = [
            row.id, row.reported_on.isoformat(), row.period_start.isoformat(),
            row.period_end.isoformat(), row.indicator, row.value, row.unit,
            row.reliability_text, round(row.reliability, 6), row.claim_id, row.source_title,
            row.claim_summary, row.note,
            *[round(row.log_bayes_factors[sid], 6) for sid in ids],
            *[round(row.after[sid], 6) for sid in ids],
        ]
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
    return buffer.getvalue()
