"""Optional briefing sections: questions, what to watch, what would change it, the dynamic model.

Each section is plain data built from a finished computation (:mod:`toolkit.outputs.backtest`,
:mod:`toolkit.outputs.watch`, :func:`toolkit.outputs.dynamic_forecast.run_dynamic`);
:func:`compute_sections` runs
the fast ones (exact engine) for a forecast. Text here is raw case text: each renderer
escapes it for its own medium.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit.core.caches import CompiledCache
from toolkit.outputs.language import figure, percent, percent_range

if TYPE_CHECKING:
    from toolkit.model.case import Case
    from toolkit.outputs.backtest import Backtest, Rolling
    from toolkit.outputs.forecast import Forecast
    from toolkit.outputs.sensitivity import Sensitivity
    from toolkit.outputs.watch import WatchEntry

#: How many indicators the briefing's "What to watch next" lists.
WATCH_TOP = 5
#: How many inputs the briefing's "What would change the forecast" lists.
SENSITIVITY_TOP = 5
#: Sensitivity results kept in memory, keyed by everything they read (see
#: :func:`compute_sensitivity`), so a report after a dashboard panel run, or a second format,
#: does not pay for it twice.
SENSITIVITY_MEMO = 8
_SENSITIVITY = CompiledCache(limit=SENSITIVITY_MEMO)


@dataclass(frozen=True)
class QuestionRow:
    """One question as the briefing shows it."""

    id: str
    text: str
    probability: float
    resolution: str | None
    resolved_on: dt.date | None
    status: str
    brier: float | None
    log: float | None

    @property
    def resolution_text(self) -> str:
        """``yes (2023-09-02)``, or ``open``."""
        if self.resolution is None:
            return "open"
        when = f" ({self.resolved_on.isoformat()})" if self.resolved_on else ""
        return f"{self.resolution}{when}"

    @property
    def score_text(self) -> str:
        """``Brier 0.040, log -0.223``, or why there is no score."""
        if self.brier is None or self.log is None:
            return f"not scored: {self.status}"
        return f"Brier {self.brier:.3f}, log {self.log:.3f}"


@dataclass(frozen=True)
class WatchRow:
    """One indicator of the "What to watch next" list."""

    rank: int
    indicator: str
    label: str
    kind: str
    bits: float
    share: float

    @property
    def text(self) -> str:
        """``Label (indicator): 0.067 bits expected (12% of the current uncertainty)``."""
        return (f"{self.label} ({self.indicator}): {self.bits:.3f} bits expected entropy "
                f"reduction ({percent(self.share)} of the current uncertainty)")


@dataclass(frozen=True)
class SensitivityRow:
    """One input of the "What would change the forecast" list."""

    rank: int
    input: str
    label: str
    value: float
    low: float
    high: float
    at_low: float
    at_high: float
    swing: float
    tipping: float | None
    tipping_to: str | None

    @property
    def text(self) -> str:
        """The sentence: ``Label (0.5): 0.25 gives 63%, 1 gives 87%; Other would lead ...``."""
        text = (f"{self.label} ({figure(self.value)}): {figure(self.low)} gives "
                f"{percent(self.at_low)}, {figure(self.high)} gives {percent(self.at_high)}")
        if self.tipping is not None and self.tipping_to:
            text += f"; {self.tipping_to} would lead from {figure(self.tipping)}"
        return text + "."


def sensitivity_rows(result: Sensitivity, top: int = SENSITIVITY_TOP) -> list[SensitivityRow]:
    """The ``top`` inputs that move the headline most, with their tipping points."""
    lead = result.lead
    labels = dict(zip(result.scenario_ids, result.labels, strict=True))
    return [SensitivityRow(rank, i.quantity.path, i.quantity.label, i.quantity.value,
                           i.quantity.low, i.quantity.high, float(i.at_low[lead]),
                           float(i.at_high[lead]), i.swing, i.tipping,
                           labels.get(i.tipping_to or "", i.tipping_to))
            for rank, i in enumerate(result.top(top), start=1)]


def sensitivity_note(result: Sensitivity) -> str:
    """What the list measures."""
    lead = result.lead
    return (f"Each prior quantity halved and doubled, one at a time, the rest as saved: how "
            f"far the probability of the leading scenario, {result.labels[lead]} (now "
            f"{percent(float(result.probabilities[lead]))}), moves, and the value at which "
            f"another scenario would lead ({len(result.influences)} quantities, "
            f"{result.engine} engine).")


def question_rows(result: Backtest) -> list[QuestionRow]:
    """The questions of a backtest with their probability, resolution and scores."""
    rows = []
    for r in result.results:
        scores = r.scores() or {}
        q = r.question
        rows.append(QuestionRow(q.id, " ".join(q.text.split()), float(r.probability),
                                q.resolution, q.resolved_on, r.status, scores.get("brier"),
                                scores.get("log")))
    return rows


def questions_note(result: Backtest) -> str:
    """One sentence on how the questions were forecast and scored."""
    summary = result.summary
    text = (f"Probabilities of yes from the {result.engine} engine with the evidence reported "
            f"by {result.as_of.isoformat()}; {summary.get('scored', 0)} of "
            f"{summary.get('questions', len(result.results))} questions resolved after that "
            "date and are scored")
    if summary.get("scored"):
        text += (f" (mean Brier {summary['mean_brier']:.3f} against "
                 f"{summary['mean_brier_50']:.3f} at 50% and {summary['mean_brier_prior']:.3f} "
                 "for the prior alone; lower is better)")
    return text + "."


def watch_rows(entries: list[WatchEntry], top: int = WATCH_TOP) -> list[WatchRow]:
    """The ``top`` indicators ranked by expected entropy reduction."""
    return [WatchRow(i, e.indicator, e.label, e.kind, float(e.reduction_bits), float(e.share))
            for i, e in enumerate(entries[:top], start=1)]


def watch_note(entries: list[WatchEntry], months: float = 3.0) -> str:
    """What the ranking measures."""
    current = entries[0].current_entropy_bits if entries else 0.0
    return (f"Indicators ranked by how much observing their total over the next "
            f"{months:g} months is expected to reduce the uncertainty about the scenarios "
            f"(now {current:.3f} bits; exact engine).")


def dynamic_line(result: Any) -> str:
    """The dynamic model's horizon probabilities in one sentence (a ``DynamicForecast``)."""
    parts = [f"{label} {percent(float(p))} ({percent_range(float(lo), float(hi))})"
             for label, p, (lo, hi) in zip(result.labels, result.probabilities,
                                           result.intervals, strict=True)]
    text = (f"Dynamic model (monthly regimes), probabilities in the horizon month "
            f"{result.months[-1]}: " + "; ".join(parts) + ".")
    if not result.converged:
        text += " NOT CONVERGED: do not use these numbers as final."
    return text


def compute_questions(case: Case, forecast: Forecast) -> tuple[Backtest, Rolling] | None:
    """Backtest the case's questions at the forecast's as-of date (exact engine).

    Returns
    -------
    tuple or None
        ``(backtest at the as-of date, monthly rolling backtest up to it)``, or ``None`` when
        the case has no questions file. A rolling backtest needs at least one as-of date
        on or after the earliest question window; before that it holds only the as-of date.
    """
    if not case.paths.questions.exists():
        return None
    from toolkit.inference.predictive import forecast_questions
    from toolkit.model.questions import load_questions
    from toolkit.outputs.backtest import Rolling, backtest, rolling_backtest

    questions = load_questions(case)
    start = min(q.window.start for q in questions.questions)
    if forecast.as_of < start:
        prior = forecast_questions(case, questions, None)
        single = backtest(case, questions, forecast.as_of, "exact", prior=prior)
        return single, Rolling([single])
    rolling = rolling_backtest(case, questions, end=forecast.as_of)
    if rolling.steps[-1].as_of != forecast.as_of:
        prior = forecast_questions(case, questions, None)
        rolling.steps.append(backtest(case, questions, forecast.as_of, "exact", prior=prior))
    return rolling.steps[-1], rolling


def compute_watch(case: Case, forecast: Forecast) -> list[WatchEntry]:
    """The watch ranking for the forecast (exact engine; recomputed if it used another)."""
    from toolkit.outputs.watch import watch

    start = forecast if forecast.engine == "exact" else None
    return watch(case, as_of=forecast.as_of, forecast=start)[1]


def compute_sensitivity(case: Case, forecast: Forecast,
                        progress: Callable[[int, int], None] | None = None) -> Sensitivity:
    """Sensitivity of the forecast's headline to every prior quantity (exact engine).

    The case is taken with the forecast's prior weights (as given to
    :func:`~toolkit.outputs.forecast.assemble`, e.g. a dashboard's raw slider values, from
    ``extras["weights"]``; otherwise the normalised weights scaled to the saved total) and
    read on the forecast's own evidence items. Results are kept in memory
    (:data:`SENSITIVITY_MEMO` of them, a :class:`~toolkit.core.caches.CompiledCache` shared
    by threads), keyed by the priors as given, every field of those items, the hashes of the
    case's files and the as-of date.
    """
    from toolkit.model.variations import vary
    from toolkit.outputs.sensitivity import sensitivity

    saved = np.asarray(case.priors.weights, float)
    weights = np.asarray(forecast.extras.get("weights", forecast.prior * saved.sum()), float)
    if not np.allclose(weights, saved, rtol=1e-12, atol=1e-15):
        case = vary(case, {f"scenarios.{sid}.weight": float(w)
                           for sid, w in zip(forecast.scenario_ids, weights, strict=True)})
    key = hashlib.sha256(json.dumps({
        "case": case.name, "priors": case.priors.model_dump(mode="json"),
        "items": [dataclasses.asdict(item) for item in forecast.items],
        "files": case.input_hashes, "as_of": forecast.as_of.isoformat(),
    }, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    found, seconds = _SENSITIVITY.get(key, lambda: sensitivity(
        case, forecast.as_of, progress=progress, items=forecast.items))
    if seconds == 0.0 and progress is not None:  # remembered: nothing to wait for
        progress(1, 1)
    return found
