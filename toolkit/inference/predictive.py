"""Posterior predictive of an indicator's total over a future window, and question probabilities.

The total ``Y`` over a window of ``t`` months is predicted per scenario from the
indicator's parameter posterior (:mod:`toolkit.inference.posteriors`) and mixed over
scenarios by their posterior probabilities: ``P(Y in A | E) = sum_k P(k | E) P(Y in A | E,
k)``. Closed forms give a negative binomial total (Gamma rate), a lognormal reported total
(reporting noise included) and a beta-binomial number of affirming signals; a quadrature
grid or PyMC draws give the Rao-Blackwellized average of ``P(Y in A | parameter)``.

A question conditions on what is already observed inside its window: the totals of fully
reliable items (reliability 1) of a count or occurrence indicator whose periods lie in the
window, and their logged events, add to the window's total, and only the rest of the window
is predicted (:func:`observed_in_window`). A question the observed part already decides
(at least one event, and one is logged) is *settled*: probability 1 or 0, whatever the
rate. Less reliable items inform the rate only, as do items of other kinds.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from toolkit.inference.posteriors import ParameterPosterior, indicator_posteriors
from toolkit.model.evidence import to_observation
from toolkit.model.watch import watched_months

if TYPE_CHECKING:
    from toolkit.model.case import Case
    from toolkit.model.evidence import EvidenceItem
    from toolkit.model.questions import Condition, Question, QuestionSet


class ForecastLike(Protocol):
    """What the predictive reads of a forecast (:class:`toolkit.outputs.forecast.Forecast`)."""

    probabilities: np.ndarray
    items: list[EvidenceItem]
    engine: str
    extras: dict[str, Any]


def interval_probability(
    post: ParameterPosterior, low: float, high: float, months: float, signals: int | None = None
) -> float:
    """``P(low <= Y <= high)`` for the window total ``Y`` under one scenario's posterior.

    Parameters
    ----------
    post : ParameterPosterior
        The parameter posterior.
    low, high : float
        Inclusive bounds on the total (``high = inf``: no upper bound). Whole numbers for
        count, occurrence and signal.
    months : float
        Window length in months (ignored for signal).
    signals : int, optional
        Number of signals in the window (signal only).

    Returns
    -------
    float
        The predictive probability.
    """
    return post.family.interval_probability(post, low, high, months, signals)


def cdf(post: ParameterPosterior, x: np.ndarray, months: float,
        signals: int | None = None) -> np.ndarray:
    """``P(Y <= x)`` of the window total for every ``x`` (whole numbers except for amount)."""
    return post.family.cdf(post, x, months, signals)


@dataclass(frozen=True)
class QuestionForecast:
    """A question's predictive probability, overall and per scenario."""

    id: str
    probability: float
    by_scenario: dict[str, float]
    method: str
    settled: bool = False
    observed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Observed:
    """What fully reliable evidence already says about a question window's total."""

    low: float
    high: float
    months: float
    items: tuple[str, ...]


def observed_in_window(case: Case, question: Question, items: Sequence[EvidenceItem],
                       as_of: dt.date | None = None) -> Observed | None:
    """The fully reliable totals and logged events inside ``question``'s window.

    Only count and occurrence indicators (whose totals add up) are read; ``None`` when
    nothing qualifies. Totals' periods count as observed time. The watched time of a
    watched indicator inside the window up to ``as_of`` counts as observed time too (every
    event in it was logged), when every event logged there is fully reliable and no total
    of the indicator lies in the window (its time would count twice); otherwise logged
    events do not reduce the time still to predict.
    """
    indicator = case.indicators[question.indicator]
    if not indicator.family.point_process:
        return None
    low = high = months = 0.0
    used, doubtful, totals = [], False, False
    for item in items:
        if item.indicator != question.indicator or item.period_start < question.window.start \
                or item.period_end > question.window.end:
            continue
        logged = case.is_logged_event(item)
        if item.reliability < 1.0:
            doubtful = doubtful or logged
            continue
        obs = to_observation(item, indicator)  # a logged 'yes' is one event (low = 1)
        low, high = low + obs.low, high + (obs.low if logged else obs.high)
        if not logged:
            months += obs.exposure
            totals = True
        used.append(item.id)
    spans = case.watch_spans.get(question.indicator)
    if spans and as_of is not None and not doubtful and not totals:
        upto = min(question.window.end, as_of)
        months += watched_months(spans, question.window.start - dt.timedelta(days=1), upto)
    if not used and months <= 0:
        return None
    return Observed(low, high, months, tuple(used))


def question_probability(
    question: Question,
    condition: Condition,
    probabilities: Sequence[float],
    posteriors: Mapping[str, ParameterPosterior],
    observed: Observed | None = None,
) -> QuestionForecast:
    """Mix the per-scenario predictive probabilities of a question's condition.

    With ``observed`` (see :func:`observed_in_window`) the observed part of the window's
    total is added to the prediction of the rest of the window.
    """
    settled = None
    months, low, high = question.window.months, condition.low, condition.high
    if observed is not None:
        if observed.low >= condition.low and math.isinf(condition.high):
            settled = 1.0
        elif observed.low > condition.high:
            settled = 0.0
        elif observed.low == observed.high:
            months = max(months - observed.months, 0.0)
            low, high = max(condition.low - observed.low, 0.0), condition.high - observed.low
    if settled is not None:
        by_scenario = dict.fromkeys(posteriors, settled)
        return QuestionForecast(question.id, settled, by_scenario, "settled by evidence",
                                True, observed.items)
    by_scenario = {
        sid: _window_probability(post, low, high, months, question.signals)
        for sid, post in posteriors.items()
    }
    p = float(sum(w * q for w, q in zip(probabilities, by_scenario.values(), strict=True)))
    methods = sorted({post.method for post in posteriors.values()})
    return QuestionForecast(question.id, min(max(p, 0.0), 1.0), by_scenario, ", ".join(methods),
                            False, observed.items if observed else ())


def _window_probability(post: ParameterPosterior, low: float, high: float, months: float,
                        signals: int | None) -> float:
    """``P(low <= Y <= high)`` over ``months`` (no time left: whether 0 is in the range)."""
    if high < low:
        return 0.0
    if months <= 0:
        return float(low <= 0.0 <= high)
    return interval_probability(post, low, high, months, signals)


def forecast_questions(
    case: Case, questions: QuestionSet, forecast: ForecastLike | None = None
) -> dict[str, QuestionForecast]:
    """Predictive probability of every question given a forecast's evidence.

    Parameters
    ----------
    case : Case
        The case.
    questions : QuestionSet
        Validated questions.
    forecast : ForecastLike, optional
        A forecast of ``case``; its scenario probabilities mix the predictives and its items
        condition the parameters. With the PyMC engine its ``extras["parameter_draws"]`` are
        used. ``None`` means the prior alone (no evidence).

    Returns
    -------
    dict
        Question id -> :class:`QuestionForecast`, in file order.
    """
    if forecast is None:
        probabilities, observations, draws = np.asarray(case.priors.weights), [], None
    else:
        probabilities = forecast.probabilities
        observations = case.observations(forecast.items, forecast.as_of)
        draws = forecast.extras.get("parameter_draws") if forecast.engine == "pymc" else None
        if forecast.engine == "pymc" and draws is None:
            raise KeyError("the PyMC forecast holds no extras['parameter_draws']")
    dispersion = {} if forecast is None else (forecast.extras.get("dispersion") or {})
    cache: dict[tuple, dict[str, ParameterPosterior]] = {}
    out = {}
    for question in questions.questions:
        key = (question.indicator, question.window.start, question.window.end)
        if key not in cache:
            cache[key] = indicator_posteriors(
                case, question.indicator, observations, draws,
                float(dispersion.get(question.indicator, 0.0)),
                window=(question.window.start, question.window.end))
        observed = None if forecast is None else \
            observed_in_window(case, question, forecast.items, forecast.as_of)
        out[question.id] = question_probability(question, questions.condition(question),
                                                probabilities, cache[key], observed)
    return out
