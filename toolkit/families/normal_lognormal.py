"""Normal-LogNormal (``normal_lognormal``): amounts, Normal prior on the log monthly amount.

Parameter ``u = log(amount per month)``. A reported total ``A`` over ``t`` months has
``log A - log t ~ Normal(u, noise_log_sd)``; a range ``[a, b]`` contributes the Normal
probability of ``[log a - log t, log b - log t]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special

from toolkit.families.base import Family
from toolkit.families.observation import Observation
from toolkit.families.posterior import ParameterPosterior
from toolkit.families.values import ParsedValue, parse_quantity

Params = tuple[float, ...]  # (mu0, sigma0, noise_log_sd)
_LOG_2PI = math.log(2 * math.pi)


def prior_from_interval(
    low: float, high: float, level: float, per_months: float, noise_log_sd: float
) -> Params:
    """Normal prior on the log monthly amount whose ``level`` interval maps to ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Interval of the amount per period, ``0 < low < high``.
    level : float
        Probability of the interval.
    per_months : float
        Length of the period in months.
    noise_log_sd : float
        Reporting noise of the indicator (sd of log reported / true amount).

    Returns
    -------
    tuple of float
        ``(mu0, sigma0, noise_log_sd)``.
    """
    z = special.ndtri((1 + level) / 2)
    mu0 = (math.log(low) + math.log(high)) / 2 - math.log(per_months)
    sigma0 = (math.log(high) - math.log(low)) / (2 * z)
    return mu0, sigma0, noise_log_sd


def prior_from_distribution(
    spec: dict[str, float], per_months: float, noise_log_sd: float
) -> Params:
    """Prior given as ``{mu, sigma}`` of the log amount per period."""
    return float(spec["mu"]) - math.log(per_months), float(spec["sigma"]), noise_log_sd


def log_prior_u(u: np.ndarray, params: Params) -> np.ndarray:
    """Log Normal density of ``u``."""
    mu0, sigma0, _ = params
    return -0.5 * ((u - mu0) / sigma0) ** 2 - np.log(sigma0) - 0.5 * _LOG_2PI


def _log_scale(value: float, exposure: float) -> float:
    return math.log(value) - math.log(exposure) if value > 0 else -math.inf


def log_lik_u(u: np.ndarray, obs: Observation, params: Params) -> np.ndarray:
    """Log likelihood of one observation on a grid of ``u``.

    A rate's walk (``obs.scatter``, the variance of the log factor it puts on the period's
    amount) adds to the reporting noise's variance.
    """
    noise = params[2] if obs.scatter <= 0 else np.sqrt(np.square(params[2]) + obs.scatter)
    if obs.is_point:
        x = _log_scale(obs.low, obs.exposure)
        return -0.5 * ((x - u) / noise) ** 2 - np.log(noise) - 0.5 * _LOG_2PI
    z_lo = (_log_scale(obs.low, obs.exposure) - u) / noise
    z_hi = (_log_scale(obs.high, obs.exposure) - u) / noise if math.isfinite(obs.high) else np.inf
    return log_normal_interval(z_lo, z_hi)


def log_normal_interval(z_lo: np.ndarray, z_hi: np.ndarray) -> np.ndarray:
    """``log(Phi(z_hi) - Phi(z_lo))``, stable in both tails."""
    z_lo, z_hi = np.broadcast_arrays(np.asarray(z_lo, float), np.asarray(z_hi, float))
    upper_tail = z_lo > 0
    a = np.where(upper_tail, -z_hi, z_lo)
    b = np.where(upper_tail, -z_lo, z_hi)
    log_b = special.log_ndtr(b)
    log_a = special.log_ndtr(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_b + np.log1p(-np.exp(log_a - log_b))


def closed_form(params: Params, observations: Sequence[Observation]) -> float | None:
    """Exact log marginal likelihood of exact, tempered observations; ``None`` if censored."""
    if any(o.is_censored or o.scatter > 0 for o in observations):
        return None
    mu0, sigma0, noise = params
    r = np.array([o.reliability for o in observations])
    x = np.array([_log_scale(o.low, o.exposure) for o in observations])
    precision = float(np.sum(r)) / noise**2 + 1 / sigma0**2
    linear = float(np.sum(r * x)) / noise**2 + mu0 / sigma0**2
    constant = -0.5 * float(np.sum(r)) * (_LOG_2PI + 2 * math.log(noise))
    quadratic = -0.5 * float(np.sum(r * x**2)) / noise**2 - 0.5 * mu0**2 / sigma0**2
    return float(
        constant + quadratic - math.log(sigma0) - 0.5 * math.log(precision)
        + linear**2 / (2 * precision)
    )


def bracket(params: Params, observations: Sequence[Observation]) -> tuple[float, float]:
    """An interval of ``u`` covering the prior bulk and every observation."""
    mu0, sigma0, noise = params
    points = [mu0 - 6 * sigma0, mu0 + 6 * sigma0]
    for o in observations:
        for bound in (o.low, o.high):
            if math.isfinite(bound) and bound > 0:
                points.append(_log_scale(bound, o.exposure))
    return min(points) - 3 * noise, max(points) + 3 * noise


#: Watch list: bins of the log total.
AMOUNT_BINS = 4000


class NormalLogNormal(Family):
    """Amounts: the log of a reported total is Normal around the log of the true total.

    Notes
    -----
    PyMC link groups: ``point`` (exact amount) and ``cens`` (a range or bound on the log
    scale, open ends flagged by ``lo_open`` and ``hi_open``).
    """

    name = "normal_lognormal"
    distribution = "lognormal"
    whole_totals = False
    parameter_name = "log_amount"
    link_groups = ("point", "cens")
    link_fields = ("slot", "r", "mix", "ref", "x_lo", "x_hi", "lo_open", "hi_open", "noise")
    pad_params = (0.0, 1.0)

    def prior(self, expectation: Any, per_months: float, noise_log_sd: float) -> Params:
        """Normal ``(mu0, sigma0)`` of the log monthly amount, and the reporting noise."""
        if expectation.lognormal is not None:
            return prior_from_distribution(expectation.lognormal.model_dump(), per_months,
                                           noise_log_sd)
        return prior_from_interval(expectation.low, expectation.high, expectation.level,
                                   per_months, noise_log_sd)

    def parse_value(self, text: str) -> ParsedValue:
        """A positive, continuous total."""
        return parse_quantity(text, "amount", whole=False)

    log_prior_u = staticmethod(log_prior_u)
    log_lik_u = staticmethod(log_lik_u)
    closed_form = staticmethod(closed_form)
    bracket = staticmethod(bracket)

    def log_prior_ops(self, ops: Any, u: Any, p1: Any, p2: Any) -> Any:
        """Normal on ``u``."""
        return -0.5 * ((u - p1) / p2) ** 2 - ops.log(p2) - 0.5 * _LOG_2PI

    def link_loglik(self, ops: Any, group: str, u: Any, c: dict[str, Any]) -> Any:
        """Normal density (``point``) or log interval probability (``cens``)."""
        s = c["noise"]
        if group == "point":
            return -0.5 * ((c["x_lo"] - u) / s) ** 2 - ops.log(s) - 0.5 * _LOG_2PI
        z_lo = ops.where(ops.gt(c["lo_open"], 0), -40.0, (c["x_lo"] - u) / s)
        z_hi = ops.where(ops.gt(c["hi_open"], 0), 40.0, (c["x_hi"] - u) / s)
        flip = ops.gt(z_lo, 0)
        a = ops.where(flip, -z_hi, z_lo)
        b = ops.where(flip, -z_lo, z_hi)
        log_b = ops.log_ndtr(b)
        ratio = ops.clip(ops.exp(ops.log_ndtr(a) - log_b), 0.0, 1 - 1e-16)
        return log_b + ops.log1p(-ratio)

    def link(self, obs: Observation, params: Params,
             phi: float) -> tuple[str | None, dict[str, float]]:
        """Log bounds per month (open ends flagged) and the reporting noise."""
        x_lo = math.log(obs.low) - math.log(obs.exposure) if obs.low > 0 else -math.inf
        x_hi = ((math.log(obs.high) - math.log(obs.exposure)) if math.isfinite(obs.high)
                else math.inf)
        return "point" if obs.is_point else "cens", {
            "x_lo": x_lo if math.isfinite(x_lo) else 0.0,
            "x_hi": x_hi if math.isfinite(x_hi) else 0.0,
            "lo_open": float(not math.isfinite(x_lo)),
            "hi_open": float(not math.isfinite(x_hi)),
            "noise": params[2],
        }

    def prior_moments(self, p1: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The Normal's own mean and sd."""
        return p1.copy(), p2.copy()

    def conjugate(self, params: Params, observations: Sequence[Observation]) -> Params:
        """Normal ``(mean, sd)`` of ``u`` and the noise."""
        r = np.array([o.reliability for o in observations], dtype=float)
        mu0, sigma0, noise = params
        x = np.array([math.log(o.low) - math.log(o.exposure) for o in observations],
                     dtype=float)
        precision = 1 / sigma0**2 + float(np.sum(r)) / noise**2
        mean = (mu0 / sigma0**2 + float(np.sum(r * x)) / noise**2) / precision
        return mean, math.sqrt(1 / precision), noise

    def u_from_natural(self, draws: np.ndarray) -> np.ndarray:
        """Draws are already of the log monthly amount."""
        return draws

    def natural_from_u(self, u: np.ndarray) -> np.ndarray:
        """The log monthly amount."""
        return u

    def sample_conjugate(self, conjugate: Params, size: int,
                         rng: np.random.Generator) -> np.ndarray:
        """Normal draws of the log monthly amount."""
        return rng.normal(conjugate[0], conjugate[1], size)

    def interval_probability(self, post: ParameterPosterior, low: float, high: float,
                             months: float, signals: int | None) -> float:
        """Normal probability of the log reported total (reporting noise included)."""
        log_t = math.log(months)
        log_lo = math.log(low) if low > 0 else -math.inf
        log_hi = math.log(high) if math.isfinite(high) else math.inf
        if post.method == "closed form":
            mu, sigma, noise = post.conjugate
            scale = math.hypot(sigma, noise)
            return float(np.exp(log_normal_interval((log_lo - log_t - mu) / scale,
                                                    (log_hi - log_t - mu) / scale)))
        noise = math.sqrt(post.prior[2] ** 2 + post.scatter)
        values = np.exp(log_normal_interval((log_lo - log_t - post.nodes) / noise,
                                            (log_hi - log_t - post.nodes) / noise))
        return float(np.sum(post.weights * np.nan_to_num(values)))

    def cdf(self, post: ParameterPosterior, x: np.ndarray, months: float,
            signals: int | None) -> np.ndarray:
        """Normal CDF of the log reported total."""
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            log_x = np.log(x) - math.log(months)
        if post.method == "closed form":
            mu, sigma, noise = post.conjugate
            return special.ndtr((log_x - mu) / math.hypot(sigma, noise))
        noise = math.sqrt(post.prior[2] ** 2 + post.scatter)
        return post.weights @ special.ndtr((log_x[None, :] - post.nodes[:, None]) / noise)

    def watch_bins(self, posts: Sequence[ParameterPosterior], months: float,
                   signals: int) -> tuple[np.ndarray, np.ndarray, bool]:
        """:data:`AMOUNT_BINS` bins of the log total spanning every posterior's bulk."""
        centres, scales = [], []
        for p in posts:
            if p.method == "closed form":
                centres.append(p.conjugate[0])
                scales.append(math.hypot(p.conjugate[1], p.conjugate[2]))
            else:
                centres += [p.nodes.min(), p.nodes.max()]
                scales.append(math.sqrt(p.prior[2] ** 2 + p.scatter))
        span = 9 * max(scales)
        log_edges = np.linspace(min(centres) - span, max(centres) + span, AMOUNT_BINS)
        edges = np.exp(log_edges + math.log(months))
        return edges, np.array([self.cdf(p, edges, months, signals) for p in posts]), False

    def simulate_total(self, natural: float, months: float, trials: int, params: Params,
                       rng: np.random.Generator) -> float:
        """A reported total: ``months * exp(log monthly amount)`` times lognormal noise."""
        return float(months * math.exp(natural + params[2] * rng.standard_normal()))

    def predicted_quantiles(self, params: Params, q: np.ndarray) -> np.ndarray:
        """Quantiles of the reported monthly amount (reporting noise included)."""
        mu0, sigma0, noise = params
        return np.exp(mu0 + math.hypot(sigma0, noise) * special.ndtri(q))
