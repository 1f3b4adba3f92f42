"""Backtesting: forecast every question from the evidence known at a date, score resolved ones.

Only evidence reported on or before the as-of date counts (``Case.select``). A question is
scored when it resolved after the as-of date (a forecast of an outcome already known is not
a forecast). Scores, per question and averaged:

* **Brier score** ``(p - o)^2`` (0 is perfect, lower is better; always 0.25 at p = 50%);
* **log score** ``ln p`` if the outcome was yes, ``ln(1 - p)`` if no (0 is perfect, higher is
  better); probabilities are clipped to ``[1e-6, 1 - 1e-6]`` so one confident miss does not
  make the mean ``-inf``.

Both are compared with two baselines: 50% for every question, and the prior alone (the
scenario weights and expectations before any evidence). A calibration table groups the
scored forecasts into ten bins of forecast probability and counts them. The rolling mode
steps the as-of date monthly and records how each question's probability moved.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from toolkit.inference.predictive import QuestionForecast, forecast_questions
from toolkit.model.case import Case
from toolkit.model.questions import Question, QuestionSet
from toolkit.outputs.forecast import Forecast, run_forecast
from toolkit.outputs.tasks import Runner

CLIP = 1e-6
BINS = 10


def brier(p: float, outcome: int) -> float:
    """Brier score of probability ``p`` for a binary ``outcome`` (lower is better)."""
    return (float(p) - outcome) ** 2


def log_score(p: float, outcome: int) -> float:
    """Natural log of the probability given to what happened (higher is better)."""
    p = min(max(float(p), CLIP), 1 - CLIP)
    return math.log(p if outcome else 1 - p)


def calibration_table(probabilities: list[float], outcomes: list[int], bins: int = BINS) -> list[
        dict[str, Any]]:
    """Group forecasts into equal-width probability bins.

    Parameters
    ----------
    probabilities : list of float
        Forecast probabilities.
    outcomes : list of int
        1 (yes) or 0 (no), one per forecast.
    bins : int
        Number of bins on [0, 1]; the last includes 1.

    Returns
    -------
    list of dict
        Per bin: ``low``, ``high``, ``count``, ``mean_forecast`` and ``observed_frequency``
        (``None`` when the bin is empty), ``yes``.
    """
    p = np.asarray(probabilities, dtype=float)
    o = np.asarray(outcomes, dtype=float)
    index = np.minimum((p * bins).astype(int), bins - 1) if p.size else p.astype(int)
    table = []
    for b in range(bins):
        hit = index == b
        count = int(hit.sum())
        table.append({
            "low": b / bins, "high": (b + 1) / bins, "count": count,
            "yes": int(o[hit].sum()) if count else 0,
            "mean_forecast": float(p[hit].mean()) if count else None,
            "observed_frequency": float(o[hit].mean()) if count else None,
        })
    return table


@dataclass
class QuestionResult:
    """One question's forecast at the as-of date and, when resolved after it, its scores."""

    question: Question
    forecast: QuestionForecast
    prior: QuestionForecast
    scored: bool
    status: str

    @property
    def probability(self) -> float:
        """The model's probability of yes."""
        return self.forecast.probability

    def scores(self) -> dict[str, float] | None:
        """Brier and log scores of the model and both baselines (``None`` if unscored)."""
        if not self.scored:
            return None
        o = self.question.outcome
        return {
            "brier": brier(self.probability, o), "log": log_score(self.probability, o),
            "brier_50": brier(0.5, o), "log_50": log_score(0.5, o),
            "brier_prior": brier(self.prior.probability, o),
            "log_prior": log_score(self.prior.probability, o),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        q = self.question
        return {
            "id": q.id, "text": q.text, "indicator": q.indicator,
            "window": [q.window.start.isoformat(), q.window.end.isoformat()],
            "condition": q.condition, "probability": self.probability,
            "prior_probability": self.prior.probability,
            "by_scenario": self.forecast.by_scenario, "method": self.forecast.method,
            "resolution": q.resolution,
            "resolved_on": q.resolved_on.isoformat() if q.resolved_on else None,
            "source": q.source, "status": self.status, "scores": self.scores(),
        }


@dataclass
class Backtest:
    """Every question forecast at one as-of date, with scores and calibration."""

    case: str
    as_of: dt.date
    engine: str
    forecast: Forecast
    results: list[QuestionResult]
    summary: dict[str, Any] = field(default_factory=dict)
    calibration: list[dict[str, Any]] = field(default_factory=list)

    @property
    def scored(self) -> list[QuestionResult]:
        """Results that were scored."""
        return [r for r in self.results if r.scored]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` output)."""
        return {
            "case": self.case, "as_of": self.as_of.isoformat(), "engine": self.engine,
            "converged": self.forecast.converged,
            "evidence_used": self.forecast.item_ids,
            "scenarios": dict(zip(self.forecast.scenario_ids,
                                  map(float, self.forecast.probabilities), strict=True)),
            "questions": [r.to_dict() for r in self.results],
            "summary": self.summary, "calibration": self.calibration,
            "scoring": {"brier": "(p - outcome)^2, lower is better",
                        "log": f"ln of the probability given to the outcome, p clipped to "
                               f"[{CLIP:g}, 1 - {CLIP:g}]; higher is better",
                        "baselines": {"50": "50% for every question",
                                      "prior": "the prior alone, before any evidence"}},
        }


def _status(question: Question, as_of: dt.date) -> tuple[bool, str]:
    if not question.resolved:
        return False, "open"
    if question.resolved_on <= as_of:
        return False, "resolved on or before the as-of date (not a forecast)"
    return True, "scored"


def summarise(results: list[QuestionResult]) -> dict[str, Any]:
    """Mean scores of the model and the baselines over the scored results."""
    rows = [r.scores() for r in results if r.scored]
    summary: dict[str, Any] = {"questions": len(results), "scored": len(rows)}
    if not rows:
        return summary
    for key in rows[0]:
        summary[f"mean_{key}"] = float(np.mean([row[key] for row in rows]))
    for base in ("50", "prior"):
        reference = summary[f"mean_brier_{base}"]
        summary[f"brier_skill_vs_{base}"] = (
            1 - summary["mean_brier"] / reference if reference > 0 else None)
    return summary


def backtest(
    case: Case,
    questions: QuestionSet,
    as_of: dt.date,
    engine: str = "exact",
    seed: int | None = None,
    prior: dict[str, QuestionForecast] | None = None,
    **engine_options: Any,
) -> Backtest:
    """Forecast every question from the evidence reported up to ``as_of`` and score it.

    Parameters
    ----------
    case : Case
        The case.
    questions : QuestionSet
        Validated questions.
    as_of : date
        Evidence reported on or before this date counts.
    engine : {"exact", "pymc"}
        Engine for the scenario probabilities and parameter posteriors.
    seed : int, optional
        Random seed for the engine.
    prior : dict, optional
        Prior-only question forecasts, if already computed.
    **engine_options
        Passed to the engine.

    Returns
    -------
    Backtest
        Forecasts, scores, summary and calibration table.
    """
    forecast = run_forecast(case, engine=engine, as_of=as_of, seed=seed, **engine_options)
    model = forecast_questions(case, questions, forecast)
    prior = forecast_questions(case, questions, None) if prior is None else prior
    results = []
    for q in questions.questions:
        scored, status = _status(q, as_of)
        results.append(QuestionResult(q, model[q.id], prior[q.id], scored, status))
    scored = [r for r in results if r.scored]
    return Backtest(
        case.name, as_of, engine, forecast, results, summarise(results),
        calibration_table([r.probability for r in scored], [r.question.outcome for r in scored]),
    )


def add_month(day: dt.date, months: int = 1) -> dt.date:
    """The same day ``months`` months later (clipped to that month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def rolling_dates(questions: QuestionSet, start: dt.date | None = None,
                  end: dt.date | None = None) -> list[dt.date]:
    """Monthly as-of dates from ``start`` to ``end``.

    Defaults: from the earliest window start to the latest resolution (or window end while
    questions are open), never beyond today.
    """
    qs = questions.questions
    start = start or min(q.window.start for q in qs)
    if end is None:
        ends = [q.resolved_on or q.window.end for q in qs]
        end = min(max(ends), dt.date.today())
    dates = [start]  # each counted from the start: 01-31, 02-28, 03-31 (not 03-28)
    while add_month(start, len(dates)) <= end:
        dates.append(add_month(start, len(dates)))
    return dates


@dataclass
class Rolling:
    """Backtests at monthly as-of dates."""

    steps: list[Backtest]

    def series(self) -> dict[str, list[tuple[dt.date, float]]]:
        """Each question's probability at every as-of date."""
        out: dict[str, list[tuple[dt.date, float]]] = {}
        for step in self.steps:
            for r in step.results:
                out.setdefault(r.question.id, []).append((step.as_of, r.probability))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        last = self.steps[-1]
        return {
            "case": last.case, "engine": last.engine, "rolling": True,
            "as_of": [s.as_of.isoformat() for s in self.steps],
            "questions": [{
                "id": r.question.id, "text": r.question.text, "resolution": r.question.resolution,
                "resolved_on": (r.question.resolved_on.isoformat()
                                if r.question.resolved_on else None),
                "probabilities": [s.results[i].probability for s in self.steps],
                "prior_probability": r.prior.probability,
            } for i, r in enumerate(last.results)],
            "steps": [{"as_of": s.as_of.isoformat(), "evidence_used": len(s.forecast.items),
                       "summary": s.summary} for s in self.steps],
        }


def rolling_backtest(
    case: Case,
    questions: QuestionSet,
    start: dt.date | None = None,
    end: dt.date | None = None,
    engine: str = "exact",
    seed: int | None = None,
    runner: Runner | None = None,
    **engine_options: Any,
) -> Rolling:
    """Backtest at monthly as-of dates (see :func:`rolling_dates`).

    Each date is one task of ``runner`` (:class:`toolkit.outputs.tasks.Runner`: serially in
    this process by default, or on Dask); the steps come back in date order either way.
    """
    shared = {"case": case, "questions": questions, "engine": engine, "seed": seed,
              "prior": forecast_questions(case, questions, None), "options": engine_options}
    days = [[day] for day in rolling_dates(questions, start, end)]
    if runner is None:
        return Rolling([step for chunk in days for step in _backtest_days(shared, chunk)])
    return Rolling(runner.map(_backtest_days, shared, days))


def _backtest_days(shared: dict[str, Any], days: list[dt.date]) -> list[Backtest]:
    """The backtests of ``days`` (a task: runs on a worker, or here)."""
    return [backtest(shared["case"], shared["questions"], day, shared["engine"], shared["seed"],
                     shared["prior"], **shared["options"]) for day in days]
