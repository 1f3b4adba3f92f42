"""Gamma-Poisson (``gamma_poisson``): counts and occurrences, Gamma prior on the monthly rate.

Parameter ``u = log(rate per month)``. An observation of total ``y`` over ``t`` months is
Poisson with mean ``rate * t``; a range ``[a, b]`` contributes ``P(a <= Y <= b)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from toolkit.families.base import Family, mix_reliability
from toolkit.families.observation import Observation
from toolkit.families.poisson_tails import (
    count_interval,
    features,
    log_censored_ops,
    log_interval_probability,
    log_nbinom_interval,
    nbinom_interval,
    predictive_dispersion,
    safe_log,
    scatter_dispersion,
    table_span,
)
from toolkit.families.posterior import ParameterPosterior
from toolkit.families.tables import CubicTable, likelihood_table
from toolkit.families.values import NO, YES, ParsedValue, parse_quantity

Params = tuple[float, ...]  # (alpha, beta): shape, rate per month


def prior_from_interval(low: float, high: float, level: float, per_months: float) -> Params:
    """Gamma prior whose central ``level`` interval of the rate is ``[low, high]`` per period.

    Parameters
    ----------
    low, high : float
        Interval of the rate per period, ``0 < low < high``.
    level : float
        Probability of the interval, e.g. 0.9.
    per_months : float
        Length of the period in months.

    Returns
    -------
    tuple of float
        ``(alpha, beta)`` of the monthly rate.
    """
    q_lo, q_hi = (1 - level) / 2, (1 + level) / 2
    ratio = high / low

    def gap(log_alpha: float) -> float:
        alpha = math.exp(log_alpha)
        q_low_value = special.gammaincinv(alpha, q_lo)
        if q_low_value <= 0:
            return math.inf
        return math.log(special.gammaincinv(alpha, q_hi) / q_low_value) - math.log(ratio)

    log_alpha = optimize.brentq(gap, math.log(1e-3), math.log(1e7), xtol=1e-12)
    alpha = math.exp(log_alpha)
    beta = special.gammaincinv(alpha, q_lo) / (low / per_months)
    return alpha, beta


def prior_from_distribution(spec: dict[str, float], per_months: float) -> Params:
    """Gamma prior given directly as ``{alpha, beta}`` for the rate per period."""
    return float(spec["alpha"]), float(spec["beta"]) * per_months


def log_prior_u(u: np.ndarray, params: Params) -> np.ndarray:
    """Log density of ``u = log rate`` (Gamma density times the Jacobian ``rate``)."""
    alpha, beta = params
    return alpha * np.log(beta) - special.gammaln(alpha) + alpha * u - beta * np.exp(u)


def log_lik_u(u: np.ndarray, obs: Observation, params: Params,
              far_tails: bool = True) -> np.ndarray:
    """Log likelihood of one observation on a grid of ``u``.

    ``far_tails=False`` skips the far-tail series (see
    :func:`~toolkit.families.poisson_tails.log_interval_probability`).
    """
    mean = np.exp(u) * obs.exposure
    if obs.reading != "total":  # events at the end of quiet watched time: a density in time
        return obs.low * u - mean if obs.low else -mean
    if obs.scatter > 0:  # a Gamma factor on the mean (a rate's walk): negative binomial
        return log_nbinom_interval(mean, obs.low, obs.high, scatter_dispersion(obs.scatter))
    if obs.is_point:
        y = obs.low
        return y * np.log(mean) - mean - special.gammaln(y + 1)
    return log_interval_probability(mean, obs.low, obs.high, far_tails)


def closed_form(params: Params, observations: Sequence[Observation]) -> float | None:
    """Exact log marginal likelihood of exact, tempered observations; ``None`` if censored."""
    if any(o.is_censored or o.scatter > 0 for o in observations):
        return None
    alpha, beta = params
    r = np.array([o.reliability for o in observations])
    y = np.array([o.low for o in observations])
    t = np.array([o.exposure for o in observations])
    a_post = alpha + float(np.sum(r * y))
    b_post = beta + float(np.sum(r * t))
    totals = np.array([o.reading == "total" for o in observations])
    with np.errstate(divide="ignore", invalid="ignore"):
        constant = float(np.sum(np.where(totals, r * (y * np.log(t) - special.gammaln(y + 1)),
                                         0.0)))
    return float(
        constant + alpha * math.log(beta) - special.gammaln(alpha)
        + special.gammaln(a_post) - a_post * math.log(b_post)
    )


@functools.lru_cache(maxsize=1024)
def _prior_bulk(alpha: float, beta: float) -> list[float]:
    """``log`` of the prior's 1e-13 and 1 - 1e-13 quantiles (cached: priors repeat)."""
    return [
        math.log(special.gammaincinv(alpha, 1e-13) / beta + 1e-300),
        math.log(special.gammaincinv(alpha, 1 - 1e-13) / beta),
    ]


def bracket(params: Params, observations: Sequence[Observation]) -> tuple[float, float]:
    """An interval of ``u`` that covers the prior bulk and every observation's rate."""
    points = list(_prior_bulk(*params))
    for o in observations:
        if o.exposure <= 0:
            continue
        for bound in (o.low, o.high):
            if math.isfinite(bound):
                points.append(math.log((bound + 0.5) / o.exposure))
    return min(points) - 1.0, max(points) + 1.0


#: Watch list: whole-number bins up to this many values, then grouped (unit width to 200,
#: then geometric); the tail beyond the ``TAIL`` quantile is one open bin.
MAX_EXACT_SUPPORT = 4000
TAIL = 1e-12
def _upper_point(post: ParameterPosterior, months: float) -> float:
    if post.method == "closed form":
        a, b = post.conjugate
        return float(stats.nbinom.isf(TAIL, a, b / (b + months)))
    top = math.exp(post.nodes[post.weights > TAIL * 1e-3].max()) * months
    phi = predictive_dispersion(post)
    if phi > 0:
        return float(stats.nbinom.isf(TAIL, 1 / phi, 1 / (1 + phi * top)))
    return float(stats.poisson.isf(TAIL, top))


def bin_edges(upper: float) -> np.ndarray:
    """Upper ends (inclusive) of whole-number bins covering 0..upper."""
    if upper <= MAX_EXACT_SUPPORT:
        return np.arange(0, int(upper) + 1, dtype=float)
    wide = np.geomspace(200, upper, MAX_EXACT_SUPPORT - 200)
    return np.unique(np.concatenate([np.arange(0, 200), np.floor(wide)]))


def link_group(low: float, high: float, phi: float) -> str | None:
    """The PyMC link group of a count observation (``None``: it carries no information)."""
    if math.isinf(high) and low <= 0:
        return None
    if phi > 0:
        return "nb" if low == high else "nb_cens"
    if low == high:
        return "pois"
    return "pois_any" if (low == 1 and math.isinf(high)) else "pois_cens"


class GammaPoisson(Family):
    """Counts and event occurrences: Poisson totals of a Gamma-distributed monthly rate.

    Parameters
    ----------
    events : bool
        Occurrence indicators: ``yes`` means at least one event in the period, ``no`` none.

    Notes
    -----
    PyMC link groups: ``pois`` exact count; ``pois_any`` at least one event; ``pois_cens``
    any other range or bound, as ``F(high) - F(low - 1)``. With an overdispersed indicator
    (``phi > 0``: variance ``mean + phi mean^2``, a Gamma-Poisson mixture of shape
    ``1/phi``) the groups ``nb`` and ``nb_cens`` are added (:attr:`dispersion_groups`).
    """

    name = "gamma_poisson"
    distribution = "gamma"
    overdispersion = True
    parameter_name = "rate"
    link_groups = ("pois", "pois_any", "pois_cens")
    dispersion_groups = ("nb", "nb_cens")
    link_fields = ("slot", "r", "mix", "ref", "t", "low", "high", "open", "phi")
    pad_params = (1.0, 1.0)
    point_process = True

    def __init__(self, events: bool = False) -> None:
        self.events = events

    def prior(self, expectation: Any, per_months: float, noise_log_sd: float) -> Params:
        """Gamma ``(alpha, beta)`` of the monthly rate."""
        if expectation.gamma is not None:
            return prior_from_distribution(expectation.gamma.model_dump(), per_months)
        return prior_from_interval(expectation.low, expectation.high, expectation.level,
                                   per_months)

    def parse_value(self, text: str) -> ParsedValue:
        """A whole-number total; occurrences also take ``yes`` (>= 1) and ``no`` (0)."""
        raw = text.strip().lower()
        if self.events and raw in YES:
            return ParsedValue(1, math.inf, word=True)
        if self.events and raw in NO:
            return ParsedValue(0, 0, word=True)
        parsed = parse_quantity(text, "count", whole=True,
                                extra=", yes, no" if self.events else "")
        if parsed.low == parsed.high and parsed.low != math.floor(parsed.low):
            raise ValueError(f"{text!r} is not a whole number; a count is (give a range such "
                             "as 2-3, or a rate with its unit)")
        return parsed

    def observation(self, item_id: str, indicator: str, parsed: ParsedValue, factor: float,
                    days: int, reliability: float) -> Observation:
        """Bounds scaled by the period, then rounded to whole numbers.

        Raises
        ------
        ValueError
            If ``yes``/``no`` comes with a rate unit, or no whole number fits the bounds.
        """
        if parsed.word and factor != 1.0:
            raise ValueError("yes/no says whether an event happened in the period; give it "
                             "the indicator's unit, not a rate")
        obs = super().observation(item_id, indicator, parsed, factor, days, reliability)
        low, high = parsed.whole_bounds(factor)
        if low > high:
            raise ValueError(f"no whole number of events lies between {parsed.low * factor:g} "
                             f"and {parsed.high * factor:g} over the period")
        return Observation(item_id, indicator, obs.exposure, low, high, reliability, obs.trials)

    log_prior_u = staticmethod(log_prior_u)
    log_lik_u = staticmethod(log_lik_u)
    closed_form = staticmethod(closed_form)

    def item_log_lik(self, u: np.ndarray, obs: Observation, params: Params,
                     event_u: np.ndarray | None = None) -> np.ndarray:
        """As :meth:`Family.item_log_lik`; for logged events only the events are mixed.

        The quiet watched time before a logged event is evidence whether or not the event
        report is genuine, so under the mixture an ``events`` observation of ``n`` events
        contributes ``-rate * t + log(r rate^n + (1 - r) ref_n)``, ``ref_n`` the scenarios'
        average prior ``E[rate^n]``.
        """
        if obs.reading == "total":
            if obs.mixture and 0.0 < obs.reliability < 1.0 and obs.is_censored \
                    and obs.log_ref > -600.0:
                # far below the reference, a mixed item's likelihood is the reference
                return mix_reliability(self.bound_log_lik(u, obs, params, far_tails=False), obs)
            return super().item_log_lik(u, obs, params)
        at_event = u if event_u is None else event_u
        quiet = -np.exp(u) * obs.exposure
        r = obs.reliability
        if r >= 1.0 or not obs.mixture:  # tempered: the whole item, as the closed form does
            return r * (quiet + obs.low * at_event)
        if not obs.low:
            return quiet
        if r <= 0:
            return quiet + obs.log_ref
        # one row is one report: its n events are genuine together or not at all
        return quiet + np.logaddexp(math.log(r) + obs.low * at_event,
                                    math.log1p(-r) + obs.log_ref)
    bracket = staticmethod(bracket)

    def shared_part(self, obs: Observation) -> tuple[Hashable, float] | None:
        """Logged events: the quiet time enters as ``-rate * t`` (times ``r`` if tempered)."""
        if obs.reading == "total":
            return None
        tempered = obs.reliability >= 1.0 or not obs.mixture
        weight = obs.exposure * (obs.reliability if tempered else 1.0)
        return ("events", obs.low, obs.reliability, obs.mixture, obs.log_ref), weight

    def unit_log_lik(self, u: np.ndarray) -> np.ndarray:
        """``-rate``: the log likelihood of one month of quiet watched time."""
        return -np.exp(u)

    def features(self, obs: Observation) -> list[tuple[float, float]]:
        """Spikes and cliffs of large totals (see :meth:`Family.features`)."""
        return features(obs)

    def log_lik_table(self, obs: Observation, params: Params) -> CubicTable | None:
        """A censored total's table (:func:`table_span`); it is the same under every prior."""
        span = table_span(obs)
        key = (self.name, obs.exposure, obs.low, obs.high, obs.scatter, obs.anchor)
        return None if span is None else likelihood_table(
            key, lambda u: self.bound_log_lik(u, obs, params), *span)

    def log_prior_ops(self, ops: Any, u: Any, p1: Any, p2: Any) -> Any:
        """Gamma on ``exp(u)``."""
        return p1 * ops.log(p2) - ops.gammaln(p1) + p1 * u - p2 * ops.exp(u)

    def link_loglik(self, ops: Any, group: str, u: Any, c: dict[str, Any]) -> Any:
        """Poisson or negative-binomial likelihood of the links of ``group``."""
        mean = ops.exp(u) * c["t"]
        low = c["low"]
        if group == "pois":
            return low * ops.log(mean) - mean - ops.gammaln(low + 1)
        if group == "pois_any":
            return safe_log(ops, -ops.expm1(-mean))
        has_low, is_open = ops.gt(low, 0), ops.gt(c["open"], 0)
        if group == "pois_cens":
            return log_censored_ops(ops, mean, low, c["high"], has_low, is_open)
        size = 1.0 / c["phi"]
        if group == "nb":
            return (ops.gammaln(low + size) - ops.gammaln(size) - ops.gammaln(low + 1)
                    - size * ops.log1p(mean / size)
                    + low * (ops.log(mean) - ops.log(size + mean)))
        p_success = size / (size + mean)  # F(y) = I_p(size, y + 1), the regularized beta
        safe_low = ops.where(has_low, low, 1.0)
        upper = (ops.betainc(safe_low, size, 1 - p_success)
                 - ops.where(is_open, 0.0, ops.betainc(c["high"] + 1, size, 1 - p_success)))
        lower = (ops.where(is_open, 1.0, ops.betainc(size, c["high"] + 1, p_success))
                 - ops.where(has_low, ops.betainc(size, safe_low, p_success), 0.0))
        return safe_log(ops, ops.where(ops.lt(mean, low), upper, lower))

    def link(self, obs: Observation, params: Params,
             phi: float) -> tuple[str | None, dict[str, float]]:
        """Exposure, bounds (an open bound as ``low + 1`` and ``open = 1``) and ``phi``."""
        high = obs.high if math.isfinite(obs.high) else obs.low + 1.0
        return link_group(obs.low, obs.high, phi), {
            "t": obs.exposure, "low": obs.low, "high": high, "phi": phi if phi > 0 else 1.0,
            "open": float(not math.isfinite(obs.high))}

    def prior_moments(self, p1: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd of the log of a Gamma variable."""
        return special.digamma(p1) - np.log(p2), np.sqrt(special.polygamma(1, p1))

    def conjugate(self, params: Params, observations: Sequence[Observation]) -> Params:
        """Gamma ``(alpha + sum r y, beta + sum r t)``."""
        r = np.array([o.reliability for o in observations], dtype=float)
        alpha, beta = params
        y = np.array([o.low for o in observations], dtype=float)
        t = np.array([o.exposure for o in observations], dtype=float)
        return alpha + float(np.sum(r * y)), beta + float(np.sum(r * t))

    def u_from_natural(self, draws: np.ndarray) -> np.ndarray:
        """Log of rate draws."""
        with np.errstate(divide="ignore"):
            return np.log(draws)

    def natural_from_u(self, u: np.ndarray) -> np.ndarray:
        """The monthly rate."""
        return np.exp(u)

    def sample_conjugate(self, conjugate: Params, size: int,
                         rng: np.random.Generator) -> np.ndarray:
        """Gamma draws of the rate."""
        return rng.gamma(conjugate[0], 1 / conjugate[1], size)

    def interval_probability(self, post: ParameterPosterior, low: float, high: float,
                             months: float, signals: int | None) -> float:
        """Negative binomial (closed form) or a Poisson mixture over the grid or draws."""
        if post.method == "closed form":
            a, b = post.conjugate
            return float(nbinom_interval(low, high, a, b / (b + months)))
        values = count_interval(np.exp(post.nodes) * months, low, high,
                                predictive_dispersion(post))
        return float(np.sum(post.weights * np.nan_to_num(values)))

    def cdf(self, post: ParameterPosterior, x: np.ndarray, months: float,
            signals: int | None) -> np.ndarray:
        """CDF of the whole-number total at ``floor(x)``."""
        x = np.floor(np.asarray(x, dtype=float))
        if post.method == "closed form":
            a, b = post.conjugate
            return stats.nbinom.cdf(x, a, b / (b + months))
        mean = np.exp(post.nodes)[:, None] * months
        if (phi := predictive_dispersion(post)) > 0:
            size = 1.0 / phi
            return post.weights @ stats.nbinom.cdf(x[None, :], size, size / (size + mean))
        return post.weights @ special.gammaincc(x[None, :] + 1, mean)

    def watch_bins(self, posts: Sequence[ParameterPosterior], months: float,
                   signals: int) -> tuple[np.ndarray, np.ndarray, bool]:
        """Whole numbers up to the ``TAIL`` quantile, grouped past :data:`MAX_EXACT_SUPPORT`."""
        edges = bin_edges(max(_upper_point(p, months) for p in posts))
        cdfs = np.array([self.cdf(p, edges, months, signals) for p in posts])
        return edges, cdfs, bool(edges.size == edges[-1] + 1)

    def simulate_total(self, natural: float, months: float, trials: int, params: Params,
                       rng: np.random.Generator) -> float:
        """A Poisson total of ``rate * months``."""
        return float(rng.poisson(natural * months))

    def predicted_quantiles(self, params: Params, q: np.ndarray) -> np.ndarray:
        """Quantiles of the Gamma monthly rate."""
        alpha, beta = params
        return special.gammaincinv(alpha, q) / beta
