"""Gamma-Poisson (``gamma_poisson``): counts and occurrences, Gamma prior on the monthly rate.

Parameter ``u = log(rate per month)``. An observation of total ``y`` over ``t`` months is
Poisson with mean ``rate * t``; a range ``[a, b]`` contributes ``P(a <= Y <= b)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from toolkit.families.base import Family
from toolkit.families.observation import Observation
from toolkit.families.posterior import ParameterPosterior
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


def log_lik_u(u: np.ndarray, obs: Observation, params: Params) -> np.ndarray:
    """Log likelihood of one observation on a grid of ``u``."""
    mean = np.exp(u) * obs.exposure
    if obs.is_point:
        y = obs.low
        return y * np.log(mean) - mean - special.gammaln(y + 1)
    return log_interval_probability(mean, obs.low, obs.high)


def log_interval_probability(mean: np.ndarray, low: float, high: float) -> np.ndarray:
    """``log P(low <= Y <= high)`` for ``Y ~ Poisson(mean)``, stable in both tails.

    Far tails, where the probability underflows a double, are computed in log space (see
    :func:`log_at_least`, :func:`log_at_most`): a tempered likelihood ``p ** r`` of a
    strongly contradicted range must not drop to ``-inf``.
    """
    mean = np.asarray(mean, dtype=float)
    if low <= 0:
        if math.isinf(high):
            return np.zeros_like(mean)
        return log_at_most(mean, high)
    if math.isinf(high):
        return log_at_least(mean, low)
    result = np.empty_like(mean)
    below = mean < low
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m = mean[below]
        result[below] = special.gammainc(low, m) - special.gammainc(high + 1, m)
        m = mean[~below]
        result[~below] = special.gammaincc(high + 1, m) - special.gammaincc(low, m)
        result = np.array(np.log(result.clip(min=0.0)), dtype=float)
        far = ~(result > _LOG_TINY) & (mean > 0) & np.isfinite(mean)
        if far.any():  # underflow: P(Y >= low) - P(Y > high) or P(Y <= high) - P(Y < low)
            m, side = mean[far], below[far]
            fixed = np.empty_like(m)
            whole, part = log_at_least(m[side], low), log_at_least(m[side], high + 1)
            fixed[side] = whole + np.log1p(-np.exp(part - whole))
            whole, part = log_at_most(m[~side], high), log_at_most(m[~side], low - 1)
            fixed[~side] = whole + np.log1p(-np.exp(part - whole))
            result[far] = np.where(np.isfinite(fixed), fixed, -np.inf)
    return result


_LOG_TINY = math.log(1e-305)
_MAX_TERMS = 100_000


def log_at_least(mean: np.ndarray, low: float) -> np.ndarray:
    """``log P(Y >= low)`` for ``Y ~ Poisson(mean)``, ``low >= 1``, accurate in the far tail."""
    mean = np.asarray(mean, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if low == 1:
            out = np.array(np.log(-np.expm1(-mean)), dtype=float)
        else:
            out = np.array(np.log(special.gammainc(low, mean)), dtype=float)
        far = ~(out > _LOG_TINY) & (mean > 0) & (mean < low)
        if far.any():
            out[far] = _log_tail_series(mean[far], low, upper=True)
    return out


def log_at_most(mean: np.ndarray, high: float) -> np.ndarray:
    """``log P(Y <= high)`` for ``Y ~ Poisson(mean)``, ``high >= 0``, accurate in the far tail."""
    mean = np.asarray(mean, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.array(np.log(special.gammaincc(high + 1, mean)), dtype=float)
        far = ~(out > _LOG_TINY) & (mean > high) & np.isfinite(mean)
        if far.any():
            out[far] = _log_tail_series(mean[far], high, upper=False)
    return out


def _log_tail_series(mean: np.ndarray, k: float, upper: bool) -> np.ndarray:
    """``log P(Y >= k)`` for ``mean < k`` (``upper``) or ``log P(Y <= k)`` for ``mean > k``.

    Both are ``pmf(k)`` times a series whose terms shrink at least geometrically:
    ``sum_j mean^j / ((k+1)...(k+j))`` and ``sum_j k (k-1)...(k-j+1) / mean^j``. Terms are
    summed in vectorised blocks; the rare slowly converging entries continue term by term.
    """
    mean = np.asarray(mean, dtype=float)
    total = np.ones_like(mean)
    last = np.ones_like(mean)
    todo = np.arange(mean.size)
    done_terms = 0
    for block in (12, 48):
        j = np.arange(done_terms + 1, done_terms + block + 1)
        m = mean[todo, None]
        factors = m / (k + j) if upper else np.where(j <= k, (k - j + 1) / m, 0.0)
        terms = last[todo, None] * np.cumprod(factors, axis=1)
        total[todo] += terms.sum(axis=1)
        last[todo] = terms[:, -1]
        done_terms += block
        todo = todo[last[todo] > 1e-17 * total[todo]]
        if not todo.size:
            break
    for index in todo:
        term, step = last[index], done_terms
        while term > 1e-17 * total[index] and step < _MAX_TERMS:
            step += 1
            if not upper and step > k:
                break
            term *= mean[index] / (k + step) if upper else (k - step + 1) / mean[index]
            total[index] += term
    return k * np.log(mean) - mean - special.gammaln(k + 1) + np.log(total)


def closed_form(params: Params, observations: Sequence[Observation]) -> float | None:
    """Exact log marginal likelihood of exact, tempered observations; ``None`` if censored."""
    if any(o.is_censored for o in observations):
        return None
    alpha, beta = params
    r = np.array([o.reliability for o in observations])
    y = np.array([o.low for o in observations])
    t = np.array([o.exposure for o in observations])
    a_post = alpha + float(np.sum(r * y))
    b_post = beta + float(np.sum(r * t))
    constant = float(np.sum(r * (y * np.log(t) - special.gammaln(y + 1))))
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
        for bound in (o.low, o.high):
            if math.isfinite(bound):
                points.append(math.log((bound + 0.5) / o.exposure))
    return min(points) - 1.0, max(points) + 1.0


#: Watch list: whole-number bins up to this many values, then grouped (unit width to 200,
#: then geometric); the tail beyond the ``TAIL`` quantile is one open bin.
MAX_EXACT_SUPPORT = 4000
TAIL = 1e-12
#: PyTensor densities: probabilities below ``FAR`` switch to the far-tail asymptotics.
TINY = 1e-300
FAR = 1e-280
_HUGE = np.float64(1e300)


def count_interval(mean: np.ndarray, low: float, high: float, phi: float) -> np.ndarray:
    """``P(low <= Y <= high)`` for a Poisson (``phi = 0``) or negative-binomial count."""
    if phi <= 0:
        return np.exp(log_interval_probability(mean, low, high))
    size = 1.0 / phi
    p = size / (size + mean)
    if math.isinf(high):
        return stats.nbinom.sf(low - 1, size, p)
    return stats.nbinom.cdf(high, size, p) - (stats.nbinom.cdf(low - 1, size, p)
                                              if low > 0 else 0.0)


def _upper_point(post: ParameterPosterior, months: float) -> float:
    if post.method == "closed form":
        a, b = post.conjugate
        return float(stats.nbinom.isf(TAIL, a, b / (b + months)))
    top = post.nodes[post.weights > TAIL * 1e-3].max()
    return float(stats.poisson.isf(TAIL, math.exp(top) * months))


def bin_edges(upper: float) -> np.ndarray:
    """Upper ends (inclusive) of whole-number bins covering 0..upper."""
    if upper <= MAX_EXACT_SUPPORT:
        return np.arange(0, int(upper) + 1, dtype=float)
    wide = np.geomspace(200, upper, MAX_EXACT_SUPPORT - 200)
    return np.unique(np.concatenate([np.arange(0, 200), np.floor(wide)]))


def _safe_log(ops: Any, p: Any) -> Any:
    return ops.log(ops.clip(p, TINY, 2.0))


def _pois_cens(ops: Any, mean: Any, low: Any, high: Any, has_low: Any, is_open: Any) -> Any:
    """``log P(low <= Y <= high)``, Poisson: the smaller tail's difference, as above.

    Where that difference underflows (a far tail), the tail's leading terms take over:
    ``P(Y >= low) ~ pmf(low) (low + 1) / (low + 1 - mean)`` for ``mean < low`` and
    ``P(Y <= high) ~ pmf(high) mean / (mean - high)`` for ``mean > high``, so the density and
    its gradient stay finite and point back towards the data.
    """
    safe_low = ops.where(has_low, low, 1.0)
    is_upper = ops.lt(mean, low)
    upper = (ops.gammainc(safe_low, mean)
             - ops.where(is_open, 0.0, ops.gammainc(high + 1, mean)))
    lower = (ops.where(is_open, 1.0, ops.gammaincc(high + 1, mean))
             - ops.where(has_low, ops.gammaincc(safe_low, mean), 0.0))
    value = ops.where(is_upper, upper, lower)
    log_mean = ops.log(mean)
    far_upper = (low * log_mean - mean - ops.gammaln(low + 1)
                 + ops.log((low + 1) / ops.clip(low + 1 - mean, 1e-6, _HUGE)))
    far_lower = (high * log_mean - mean - ops.gammaln(high + 1)
                 + ops.log(mean / ops.clip(mean - high, 1e-6, _HUGE)))
    far = ops.where(is_upper, far_upper, far_lower)
    return ops.where(ops.gt(value, FAR), ops.log(ops.clip(value, FAR, 2.0)), far)


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
    link_fields = ("slot", "r", "t", "low", "high", "open", "phi")
    pad_params = (1.0, 1.0)

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
            return ParsedValue(1, math.inf)
        if self.events and raw in NO:
            return ParsedValue(0, 0)
        return parse_quantity(text, "count", whole=True, extra=", yes, no" if self.events else "")

    def observation(self, item_id: str, indicator: str, parsed: ParsedValue, factor: float,
                    days: int, reliability: float) -> Observation:
        """Scaled bounds rounded to whole numbers (a rate times a period)."""
        obs = super().observation(item_id, indicator, parsed, factor, days, reliability)
        if factor == 1.0:
            return obs
        low, high = obs.low, obs.high
        if low == high:
            low = high = float(round(low))
        else:
            low = float(math.ceil(low - 1e-9))
            high = high if math.isinf(high) else float(math.floor(high + 1e-9))
        return Observation(item_id, indicator, obs.exposure, low, high, reliability, obs.trials)

    def log_prior_u(self, u: np.ndarray, params: Params) -> np.ndarray:
        """Gamma density of ``exp(u)`` times the Jacobian."""
        return log_prior_u(u, params)

    def log_lik_u(self, u: np.ndarray, obs: Observation, params: Params) -> np.ndarray:
        """Poisson probability of the observed total or range."""
        return log_lik_u(u, obs, params)

    def closed_form(self, params: Params, observations: Sequence[Observation]) -> float | None:
        """Gamma-Poisson marginal likelihood of exact counts."""
        return closed_form(params, observations)

    def bracket(self, params: Params, observations: Sequence[Observation]) -> tuple[float, float]:
        """Prior bulk and every observed rate."""
        return bracket(params, observations)

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
            return _safe_log(ops, -ops.expm1(-mean))
        has_low, is_open = ops.gt(low, 0), ops.gt(c["open"], 0)
        if group == "pois_cens":
            return _pois_cens(ops, mean, low, c["high"], has_low, is_open)
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
        return _safe_log(ops, ops.where(ops.lt(mean, low), upper, lower))

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
            dist = stats.nbinom(a, b / (b + months))
            if math.isinf(high):
                return float(dist.sf(low - 1))
            return float(dist.cdf(high) - (dist.cdf(low - 1) if low > 0 else 0.0))
        values = count_interval(np.exp(post.nodes) * months, low, high, post.dispersion)
        return float(np.sum(post.weights * np.nan_to_num(values)))

    def cdf(self, post: ParameterPosterior, x: np.ndarray, months: float,
            signals: int | None) -> np.ndarray:
        """CDF of the whole-number total at ``floor(x)``."""
        x = np.floor(np.asarray(x, dtype=float))
        if post.method == "closed form":
            a, b = post.conjugate
            return stats.nbinom.cdf(x, a, b / (b + months))
        mean = np.exp(post.nodes)[:, None] * months
        if post.dispersion > 0:
            size = 1.0 / post.dispersion
            return post.weights @ stats.nbinom.cdf(x[None, :], size, size / (size + mean))
        return post.weights @ special.gammaincc(x[None, :] + 1, mean)

    def watch_bins(self, posts: Sequence[ParameterPosterior], months: float,
                   signals: int) -> tuple[np.ndarray, np.ndarray, bool]:
        """Whole numbers up to the ``TAIL`` quantile, grouped past :data:`MAX_EXACT_SUPPORT`."""
        edges = bin_edges(max(_upper_point(p, months) for p in posts))
        cdfs = np.array([self.cdf(p, edges, months, signals) for p in posts])
        return edges, cdfs, bool(edges.size == edges[-1] + 1)

    def predicted_quantiles(self, params: Params, q: np.ndarray) -> np.ndarray:
        """Quantiles of the Gamma monthly rate."""
        alpha, beta = params
        return special.gammaincinv(alpha, q) / beta
