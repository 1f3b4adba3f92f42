"""Beta-Bernoulli (``beta_bernoulli``): binary signals whose share has a Beta prior.

Parameter ``u = logit(share)``. An item of ``k`` positive signals out of ``n`` contributes
the Binomial likelihood.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from toolkit.families.base import Family
from toolkit.families.observation import Observation
from toolkit.families.posterior import ParameterPosterior
from toolkit.families.values import FRACTION, NO, YES, ParsedValue

Params = tuple[float, ...]  # (a, b)


def prior_from_interval(low: float, high: float, level: float) -> Params:
    """Beta prior whose central ``level`` interval is ``[low, high]``, ``0 < low < high < 1``.

    Parameters
    ----------
    low, high : float
        Interval of the share.
    level : float
        Probability of the interval.

    Returns
    -------
    tuple of float
        ``(a, b)``.
    """
    q_lo, q_hi = (1 - level) / 2, (1 + level) / 2
    mean = (low + high) / 2
    sd = (high - low) / (2 * special.ndtri(q_hi))
    concentration = max(mean * (1 - mean) / sd**2 - 1, 0.5)
    start = np.log([mean * concentration, (1 - mean) * concentration])

    def gaps(log_ab: np.ndarray) -> np.ndarray:
        a, b = np.exp(log_ab)
        return np.array([
            special.logit(special.betaincinv(a, b, q_lo)) - special.logit(low),
            special.logit(special.betaincinv(a, b, q_hi)) - special.logit(high),
        ])

    solution = optimize.least_squares(gaps, start, xtol=1e-12, ftol=1e-12, gtol=1e-12)
    a, b = np.exp(solution.x)
    return float(a), float(b)


def prior_from_distribution(spec: dict[str, float]) -> Params:
    """Prior given directly as ``{a, b}``."""
    return float(spec["a"]), float(spec["b"])


def log_prior_u(u: np.ndarray, params: Params) -> np.ndarray:
    """Log density of ``u = logit(share)`` (Beta density times the Jacobian)."""
    a, b = params
    return a * special.log_expit(u) + b * special.log_expit(-u) - special.betaln(a, b)


def log_lik_u(u: np.ndarray, obs: Observation, params: Params) -> np.ndarray:
    """Log Binomial likelihood of ``k`` positives out of ``n`` on a grid of ``u``."""
    k, n = obs.low, obs.trials
    log_choose = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return log_choose + k * special.log_expit(u) + (n - k) * special.log_expit(-u)


def closed_form(params: Params, observations: Sequence[Observation]) -> float:
    """Exact log marginal likelihood of tempered Binomial observations."""
    a, b = params
    total = 0.0
    pos = neg = 0.0
    for o in observations:
        k, n, r = o.low, o.trials, o.reliability
        total += r * float(
            special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
        )
        pos += r * k
        neg += r * (n - k)
    return total + float(special.betaln(a + pos, b + neg) - special.betaln(a, b))


def bracket(params: Params, observations: Sequence[Observation]) -> tuple[float, float]:
    """An interval of ``u`` covering the prior bulk."""
    a, b = params
    lo = special.logit(special.betaincinv(a, b, 1e-6))
    hi = special.logit(special.betaincinv(a, b, 1 - 1e-6))
    return float(lo) - 2.0, float(hi) + 2.0



class BetaBernoulli(Family):
    """Signals: ``k`` of ``n`` statements point one way; their share has a Beta prior.

    Notes
    -----
    PyMC link group: ``point`` (``k`` of ``n``).
    """

    name = "beta_bernoulli"
    distribution = "beta"
    takes_rates = False
    counts_signals = True
    parameter_name = "share"
    link_groups = ("point",)
    link_fields = ("slot", "r", "mix", "ref", "k", "n")
    pad_params = (1.0, 1.0)
    chart_log_scale = False

    def prior(self, expectation: Any, per_months: float, noise_log_sd: float) -> Params:
        """Beta ``(a, b)`` of the share (``per`` does not apply)."""
        if expectation.beta is not None:
            return prior_from_distribution(expectation.beta.model_dump())
        return prior_from_interval(expectation.low, expectation.high, expectation.level)

    def expectation_problem(self, kind: str, expectation: Any) -> str | None:
        """A share interval must lie strictly inside (0, 1)."""
        if expectation.low is not None and expectation.high is not None \
                and getattr(expectation, "walk", None) is None:
            if not (0 < expectation.low and expectation.high < 1):
                return "a share interval must lie strictly inside (0, 1)"
            return None
        return super().expectation_problem(kind, expectation)

    def scale_bound(self, value: float, factor: float) -> float:
        """A share moved by multiplying its odds by ``factor`` (stays inside (0, 1))."""
        odds = value / (1.0 - value) * factor
        return odds / (1.0 + odds)

    def parse_value(self, text: str) -> ParsedValue:
        """``1``/``yes``, ``0``/``no`` or ``k/n``."""
        raw = text.strip().lower()
        if raw in YES or raw == "1":
            return ParsedValue(1, 1, 1)
        if raw in NO or raw == "0":
            return ParsedValue(0, 0, 1)
        match = FRACTION.match(raw)
        if match and 0 < int(match.group(2)) and int(match.group(1)) <= int(match.group(2)):
            k = int(match.group(1))
            return ParsedValue(k, k, int(match.group(2)))
        raise ValueError(f"{text!r} is not a signal value (use 1, 0, yes, no, or k/n)")

    def observation(self, item_id: str, indicator: str, parsed: ParsedValue, factor: float,
                    days: int, reliability: float) -> Observation:
        """``k`` of ``n`` signals; the exposure is 1 whatever the period."""
        return Observation(item_id, indicator, 1.0, parsed.low * factor, parsed.high * factor,
                           reliability, parsed.trials)

    log_prior_u = staticmethod(log_prior_u)
    log_lik_u = staticmethod(log_lik_u)
    closed_form = staticmethod(closed_form)
    bracket = staticmethod(bracket)

    def log_prior_ops(self, ops: Any, u: Any, p1: Any, p2: Any) -> Any:
        """Beta on ``expit(u)``."""
        betaln = ops.gammaln(p1) + ops.gammaln(p2) - ops.gammaln(p1 + p2)
        return p1 * ops.log_expit(u) + p2 * ops.log_expit(-u) - betaln

    def link_loglik(self, ops: Any, group: str, u: Any, c: dict[str, Any]) -> Any:
        """Binomial likelihood of ``k`` of ``n``."""
        k, n = c["k"], c["n"]
        log_choose = ops.gammaln(n + 1) - ops.gammaln(k + 1) - ops.gammaln(n - k + 1)
        return log_choose + k * ops.log_expit(u) + (n - k) * ops.log_expit(-u)

    def link(self, obs: Observation, params: Params,
             phi: float) -> tuple[str | None, dict[str, float]]:
        """``k`` and ``n``."""
        return "point", {"k": obs.low, "n": float(obs.trials)}

    def prior_moments(self, p1: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd of the logit of a Beta variable."""
        return (special.digamma(p1) - special.digamma(p2),
                np.sqrt(special.polygamma(1, p1) + special.polygamma(1, p2)))

    def conjugate(self, params: Params, observations: Sequence[Observation]) -> Params:
        """Beta ``(a + sum r k, b + sum r (n - k))``."""
        r = np.array([o.reliability for o in observations], dtype=float)
        a, b = params
        k = np.array([o.low for o in observations], dtype=float)
        n = np.array([o.trials for o in observations], dtype=float)
        return a + float(np.sum(r * k)), b + float(np.sum(r * (n - k)))

    def u_from_natural(self, draws: np.ndarray) -> np.ndarray:
        """Logit of share draws."""
        with np.errstate(divide="ignore"):
            return special.logit(draws)

    def natural_from_u(self, u: np.ndarray) -> np.ndarray:
        """The share."""
        return special.expit(u)

    def sample_conjugate(self, conjugate: Params, size: int,
                         rng: np.random.Generator) -> np.ndarray:
        """Beta draws of the share."""
        return rng.beta(conjugate[0], conjugate[1], size)

    def interval_probability(self, post: ParameterPosterior, low: float, high: float,
                             months: float, signals: int | None) -> float:
        """Beta-binomial (closed form) or a binomial mixture of ``signals`` signals."""
        n = int(signals)
        if post.method == "closed form":
            dist = stats.betabinom(n, *post.conjugate)
            return float(dist.cdf(high) - (dist.cdf(low - 1) if low > 0 else 0.0))
        share = special.expit(post.nodes)
        values = stats.binom.cdf(high, n, share) - (
            stats.binom.cdf(low - 1, n, share) if low > 0 else 0.0)
        return float(np.sum(post.weights * np.nan_to_num(values)))

    def cdf(self, post: ParameterPosterior, x: np.ndarray, months: float,
            signals: int | None) -> np.ndarray:
        """CDF of the number of affirming signals at ``floor(x)``."""
        x = np.floor(np.asarray(x, dtype=float))
        if post.method == "closed form":
            return stats.betabinom.cdf(x, int(signals), *post.conjugate)
        return post.weights @ stats.binom.cdf(x[None, :], int(signals),
                                              special.expit(post.nodes)[:, None])

    def watch_bins(self, posts: Sequence[ParameterPosterior], months: float,
                   signals: int) -> tuple[np.ndarray, np.ndarray, bool]:
        """Every number of affirming signals, 0..signals."""
        edges = np.arange(0, signals + 1, dtype=float)
        return edges, np.array([self.cdf(p, edges, months, signals) for p in posts]), True

    def simulate_total(self, natural: float, months: float, trials: int, params: Params,
                       rng: np.random.Generator) -> float:
        """Affirming signals out of ``trials``: Binomial with the share."""
        return float(rng.binomial(trials, natural))

    def predicted_quantiles(self, params: Params, q: np.ndarray) -> np.ndarray:
        """Quantiles of the Beta share."""
        a, b = params
        return special.betaincinv(a, b, q)

    def observed_range(self, obs: Observation) -> tuple[float | None, float | None]:
        """The observed share ``k / n``."""
        return obs.low / obs.trials, obs.high / obs.trials

    def axis_label(self, indicator: Any) -> str:
        """Share of signals."""
        if indicator.id == "diplomatic_alignment":
            return "share of signals pointing toward alignment"
        return "share of signals (1 = yes)"
