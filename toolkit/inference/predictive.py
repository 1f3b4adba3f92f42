"""Posterior predictive of an indicator's total over a future window, and question probabilities.

The total ``Y`` over a window of ``t`` months is predicted per scenario from the
indicator's parameter posterior (:mod:`toolkit.inference.posteriors`) and mixed over
scenarios by their posterior probabilities: ``P(Y in A | E) = sum_k P(k | E) P(Y in A | E,
k)``. Closed forms give a negative binomial total (Gamma rate), a lognormal reported total
(reporting noise included) and a beta-binomial number of affirming signals; a quadrature
grid or PyMC draws give the Rao-Blackwellized average of ``P(Y in A | parameter)``.

The model's rates are constant in time, so a window's total depends only on its length.
Evidence whose period lies inside a question's window informs the rate, not that window's
total directly (the same independence the engines assume between overlapping items).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from toolkit.inference.posteriors import ParameterPosterior, indicator_posteriors

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


def question_probability(
    question: Question,
    condition: Condition,
    probabilities: Sequence[float],
    posteriors: Mapping[str, ParameterPosterior],
) -> QuestionForecast:
    """Mix the per-scenario predictive probabilities of a question's condition."""
    by_scenario = {
        sid: interval_probability(post, condition.low, condition.high, question.window.months,
                                  question.signals)
        for sid, post in posteriors.items()
    }
    p = float(sum(w * q for w, q in zip(probabilities, by_scenario.values(), strict=True)))
    methods = sorted({post.method for post in posteriors.values()})
    return QuestionForecast(question.id, min(max(p, 0.0), 1.0), by_scenario, ", ".join(methods))


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
        out[question.id] = question_probability(question, questions.condition(question),
                                                probabilities, cache[key])
    return out
