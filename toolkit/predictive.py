"""Posterior predictive of an indicator's total over a future window, and question probabilities.

Given the evidence, each indicator's single parameter ``u`` under scenario ``k`` (log monthly
rate, log monthly amount or logit share) has a posterior; the total ``Y`` over a window of
``t`` months is then predicted per scenario and mixed over scenarios by their posterior
probabilities: ``P(Y in A | E) = sum_k P(k | E) P(Y in A | E, k)``.

The parameter posterior takes one of three forms (:class:`ParameterPosterior`):

* **closed form** when every observation of the indicator is exact (conjugate, tempered):
  Gamma rate -> negative binomial total; Normal log amount -> lognormal reported total
  (reporting noise included); Beta share -> beta-binomial number of affirming signals;
* **quadrature grid** when some observation is a range or bound: the 1-D posterior
  ``log_prior_u + sum_i r_i log_lik_u`` on a fine grid over its bulk (trapezoid weights);
* **draws** of the natural parameter from the PyMC engine (``extras["parameter_draws"]``),
  each weighted equally; the predictive is the Rao-Blackwellized average of
  ``P(Y in A | parameter)`` over draws.

The model's rates are constant in time, so a window's total depends only on its length.
Evidence whose period lies inside a question's window informs the rate, not that window's
total directly (the same independence the engines assume between overlapping items).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special, stats

from toolkit.families import family_for
from toolkit.families.normal_lognormal import log_normal_interval
from toolkit.observations import Observation

if TYPE_CHECKING:
    from toolkit.case import Case
    from toolkit.forecast import Forecast
    from toolkit.questions import Condition, Question, QuestionSet

GRID_POINTS = 801
_DROP = 40.0


@dataclass(frozen=True)
class ParameterPosterior:
    """Posterior of one indicator's parameter ``u`` under one scenario.

    Parameters
    ----------
    kind : str
        Indicator kind.
    prior : tuple of float
        The family's prior parameters (for ``amount`` the third is the reporting noise).
    method : {"closed form", "quadrature", "draws"}
        Which representation holds.
    conjugate : tuple of float, optional
        Posterior family parameters (closed form): ``(alpha, beta)`` of the monthly rate,
        ``(mu, sigma, noise)`` of the log monthly amount, ``(a, b)`` of the share.
    nodes, weights : ndarray, optional
        Points ``u`` and their normalised weights (quadrature grid or equally weighted draws).
    dispersion : float
        Negative-binomial dispersion ``phi`` of a count given its rate (PyMC engine's
        extension: variance ``mean + phi mean^2``); 0 is the Poisson.
    """

    kind: str
    prior: tuple[float, ...]
    method: str
    conjugate: tuple[float, ...] | None = None
    nodes: np.ndarray | None = None
    weights: np.ndarray | None = None
    dispersion: float = 0.0


def _log_posterior(kind: str, prior: tuple, observations: Sequence[Observation], u: np.ndarray):
    family = family_for(kind)
    total = family.log_prior_u(u, prior)
    for obs in observations:
        if obs.reliability > 0:
            total = total + obs.reliability * family.log_lik_u(u, obs, prior)
    return np.where(np.isnan(total), -np.inf, total)


def _conjugate(kind: str, prior: tuple, observations: Sequence[Observation]) -> tuple:
    r = np.array([o.reliability for o in observations], dtype=float)
    if kind in ("count", "occurrence"):
        alpha, beta = prior
        y = np.array([o.low for o in observations], dtype=float)
        t = np.array([o.exposure for o in observations], dtype=float)
        return alpha + float(np.sum(r * y)), beta + float(np.sum(r * t))
    if kind == "amount":
        mu0, sigma0, noise = prior
        x = np.array([math.log(o.low) - math.log(o.exposure) for o in observations], dtype=float)
        precision = 1 / sigma0**2 + float(np.sum(r)) / noise**2
        mean = (mu0 / sigma0**2 + float(np.sum(r * x)) / noise**2) / precision
        return mean, math.sqrt(1 / precision), noise
    a, b = prior
    k = np.array([o.low for o in observations], dtype=float)
    n = np.array([o.trials for o in observations], dtype=float)
    return a + float(np.sum(r * k)), b + float(np.sum(r * (n - k)))


def parameter_posterior(
    kind: str,
    prior: tuple[float, ...],
    observations: Sequence[Observation],
    method: str = "auto",
    points: int = GRID_POINTS,
) -> ParameterPosterior:
    """Posterior of an indicator's parameter given its observations under one scenario.

    Parameters
    ----------
    kind : str
        Indicator kind.
    prior : tuple of float
        The family's prior parameters (``Case.prior_params``).
    observations : sequence of Observation
        This indicator's observations (tempered by their reliability).
    method : {"auto", "closed form", "quadrature"}
        ``auto`` uses the closed form unless an observation is censored.
    points : int
        Grid size for the quadrature form.

    Returns
    -------
    ParameterPosterior
        The posterior.
    """
    censored = any(o.is_censored for o in observations)
    if method == "closed form" or (method == "auto" and not censored):
        if censored:
            raise ValueError("censored observations have no closed-form posterior")
        return ParameterPosterior(kind, tuple(prior), "closed form",
                                  conjugate=_conjugate(kind, prior, observations))
    lo, hi = family_for(kind).bracket(prior, list(observations))
    for _ in range(80):
        u = np.linspace(lo, hi, 257)
        values = _log_posterior(kind, prior, observations, u)
        peak = values.max()
        width = hi - lo
        if not np.isfinite(peak):
            lo, hi = lo - width, hi + width
            continue
        if values[0] > peak - _DROP or values[-1] > peak - _DROP:
            lo -= width if values[0] > peak - _DROP else 0.0
            hi += width if values[-1] > peak - _DROP else 0.0
            continue
        inside = np.flatnonzero(values > peak - _DROP)
        lo, hi = u[max(inside[0] - 1, 0)], u[min(inside[-1] + 1, u.size - 1)]
        if inside.size >= 64:
            break
    else:  # pragma: no cover - the integrand is log-concave, so this does not happen
        raise RuntimeError("could not locate the posterior bulk")
    nodes = np.linspace(lo, hi, points)
    log_w = _log_posterior(kind, prior, observations, nodes)
    weights = np.exp(log_w - log_w.max())
    weights[[0, -1]] *= 0.5
    return ParameterPosterior(kind, tuple(prior), "quadrature", nodes=nodes,
                              weights=weights / weights.sum())


def from_draws(
    kind: str, prior: tuple[float, ...], draws: np.ndarray, dispersion: float = 0.0
) -> ParameterPosterior:
    """Posterior represented by draws of the natural parameter (PyMC engine).

    Parameters
    ----------
    kind : str
        Indicator kind.
    prior : tuple of float
        Prior parameters (only the reporting noise of ``amount`` is read).
    draws : ndarray
        Monthly rate (count, occurrence), log monthly amount (amount) or share (signal).
    dispersion : float
        Negative-binomial dispersion of counts given the rate (0: Poisson).

    Returns
    -------
    ParameterPosterior
        Equally weighted points ``u``.
    """
    draws = np.asarray(draws, dtype=float).ravel()
    with np.errstate(divide="ignore"):
        if kind in ("count", "occurrence"):
            nodes = np.log(draws)
        elif kind == "amount":
            nodes = draws
        else:
            nodes = special.logit(draws)
    return ParameterPosterior(kind, tuple(prior), "draws", nodes=nodes,
                              weights=np.full(draws.size, 1.0 / draws.size),
                              dispersion=float(dispersion))


def _count_interval(mean: np.ndarray, low: float, high: float, phi: float) -> np.ndarray:
    """``P(low <= Y <= high)`` for a Poisson (``phi = 0``) or negative-binomial count."""
    if phi <= 0:
        from toolkit.families.gamma_poisson import log_interval_probability

        return np.exp(log_interval_probability(mean, low, high))
    size = 1.0 / phi
    p = size / (size + mean)
    if math.isinf(high):
        return stats.nbinom.sf(low - 1, size, p)
    return stats.nbinom.cdf(high, size, p) - (stats.nbinom.cdf(low - 1, size, p)
                                              if low > 0 else 0.0)


def sample_parameter(post: ParameterPosterior, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw the natural parameter from a closed-form or grid posterior (reference draws)."""
    if post.method == "closed form":
        p = post.conjugate
        if post.kind in ("count", "occurrence"):
            return rng.gamma(p[0], 1 / p[1], size)
        if post.kind == "amount":
            return rng.normal(p[0], p[1], size)
        return rng.beta(p[0], p[1], size)
    cdf = np.cumsum(post.weights)
    index = np.minimum(np.searchsorted(cdf, rng.random(size)), cdf.size - 1)
    step = post.nodes[1] - post.nodes[0] if post.method == "quadrature" else 0.0
    u = post.nodes[index] + step * (rng.random(size) - 0.5)
    if post.kind in ("count", "occurrence"):
        return np.exp(u)
    return u if post.kind == "amount" else special.expit(u)


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
    if post.kind in ("count", "occurrence"):
        if post.method == "closed form":
            a, b = post.conjugate
            dist = stats.nbinom(a, b / (b + months))
            if math.isinf(high):
                return float(dist.sf(low - 1))
            return float(dist.cdf(high) - (dist.cdf(low - 1) if low > 0 else 0.0))
        values = _count_interval(np.exp(post.nodes) * months, low, high, post.dispersion)
    elif post.kind == "amount":
        log_t = math.log(months)
        log_lo = math.log(low) if low > 0 else -math.inf
        log_hi = math.log(high) if math.isfinite(high) else math.inf
        if post.method == "closed form":
            mu, sigma, noise = post.conjugate
            scale = math.hypot(sigma, noise)
            return float(np.exp(log_normal_interval((log_lo - log_t - mu) / scale,
                                                    (log_hi - log_t - mu) / scale)))
        noise = post.prior[2]
        values = np.exp(log_normal_interval((log_lo - log_t - post.nodes) / noise,
                                            (log_hi - log_t - post.nodes) / noise))
    else:
        n = int(signals)
        if post.method == "closed form":
            dist = stats.betabinom(n, *post.conjugate)
            return float(dist.cdf(high) - (dist.cdf(low - 1) if low > 0 else 0.0))
        share = special.expit(post.nodes)
        values = stats.binom.cdf(high, n, share) - (
            stats.binom.cdf(low - 1, n, share) if low > 0 else 0.0)
    return float(np.sum(post.weights * np.nan_to_num(values)))


def cdf(post: ParameterPosterior, x: np.ndarray, months: float,
        signals: int | None = None) -> np.ndarray:
    """``P(Y <= x)`` of the window total for every ``x`` (whole numbers except for amount)."""
    x = np.asarray(x, dtype=float)
    if post.kind != "amount":
        x = np.floor(x)
    if post.kind in ("count", "occurrence"):
        if post.method == "closed form":
            a, b = post.conjugate
            return stats.nbinom.cdf(x, a, b / (b + months))
        mean = np.exp(post.nodes)[:, None] * months
        if post.dispersion > 0:
            size = 1.0 / post.dispersion
            return post.weights @ stats.nbinom.cdf(x[None, :], size, size / (size + mean))
        return post.weights @ special.gammaincc(x[None, :] + 1, mean)
    if post.kind == "amount":
        with np.errstate(divide="ignore"):
            log_x = np.log(x) - math.log(months)
        if post.method == "closed form":
            mu, sigma, noise = post.conjugate
            return special.ndtr((log_x - mu) / math.hypot(sigma, noise))
        return post.weights @ special.ndtr((log_x[None, :] - post.nodes[:, None]) / post.prior[2])
    if post.method == "closed form":
        return stats.betabinom.cdf(x, int(signals), *post.conjugate)
    return post.weights @ stats.binom.cdf(x[None, :], int(signals),
                                          special.expit(post.nodes)[:, None])


def indicator_posteriors(
    case: Case,
    indicator: str,
    observations: Sequence[Observation],
    draws: Mapping[tuple[str, str], np.ndarray] | None = None,
    dispersion: float = 0.0,
) -> dict[str, ParameterPosterior]:
    """Every scenario's posterior of ``indicator``'s parameter.

    Parameters
    ----------
    case : Case
        The case.
    indicator : str
        Indicator id.
    observations : sequence of Observation
        All observations used by the forecast (other indicators' are ignored).
    draws : mapping, optional
        PyMC ``parameter_draws``; when given, its draws are used for every scenario.
    dispersion : float
        Negative-binomial dispersion of this indicator's counts (PyMC engine option).

    Returns
    -------
    dict
        Scenario id -> posterior.
    """
    kind = case.indicators[indicator].kind
    own = [o for o in observations if o.indicator == indicator]
    out = {}
    for scenario in case.priors.scenario_ids:
        prior = case.prior_params(indicator, scenario)
        key = (indicator, scenario)
        if draws is not None and key in draws:
            out[scenario] = from_draws(kind, prior, draws[key], dispersion)
        elif draws is not None and own:
            raise KeyError(f"the PyMC engine returned no parameter draws for {key}")
        else:
            out[scenario] = parameter_posterior(kind, prior, own)
    return out


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
    case: Case, questions: QuestionSet, forecast: Forecast | None = None
) -> dict[str, QuestionForecast]:
    """Predictive probability of every question given a forecast's evidence.

    Parameters
    ----------
    case : Case
        The case.
    questions : QuestionSet
        Validated questions.
    forecast : Forecast, optional
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
        observations = case.observations(forecast.items)
        draws = forecast.extras.get("parameter_draws") if forecast.engine == "pymc" else None
        if forecast.engine == "pymc" and draws is None:
            raise KeyError("the PyMC forecast holds no extras['parameter_draws']")
    dispersion = {} if forecast is None else (forecast.extras.get("dispersion") or {})
    cache: dict[str, dict[str, ParameterPosterior]] = {}
    out = {}
    for question in questions.questions:
        if question.indicator not in cache:
            cache[question.indicator] = indicator_posteriors(
                case, question.indicator, observations, draws,
                float(dispersion.get(question.indicator, 0.0)))
        out[question.id] = question_probability(question, questions.condition(question),
                                                probabilities, cache[question.indicator])
    return out
