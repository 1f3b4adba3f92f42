"""The posterior of an indicator's parameter under each scenario, given its evidence.

Given the evidence, each indicator's single parameter ``u`` under scenario ``k`` (log monthly
rate, log monthly amount or logit share) has a posterior, in one of three forms
(:class:`ParameterPosterior`):

* **closed form** when every observation of the indicator is exact (conjugate, tempered):
  Gamma monthly rate, Normal log monthly amount, Beta share;
* **quadrature grid** when some observation is a range or bound: the 1-D posterior
  ``log_prior_u + sum_i r_i log_lik_u`` on a fine grid over its bulk (trapezoid weights);
* **draws** of the natural parameter from the PyMC engine (``extras["parameter_draws"]``),
  each weighted equally.

:mod:`toolkit.inference.predictive` turns these into predictions of future windows and questions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from toolkit.families import family_for
from toolkit.families.observation import Observation

if TYPE_CHECKING:
    from toolkit.model.case import Case

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
