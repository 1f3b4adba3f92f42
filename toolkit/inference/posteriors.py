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

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from toolkit.core.defaults import GRID_POINTS
from toolkit.core.grids import bulk_round
from toolkit.families import family_for
from toolkit.families.observation import Observation
from toolkit.families.posterior import ParameterPosterior
from toolkit.inference.quadrature import composite_grid, narrow_bulks, trapezoid_weights
from toolkit.inference.slopes import slope_posterior_nodes
from toolkit.model.trajectory import months_since_epoch

if TYPE_CHECKING:
    from toolkit.model.case import Case

_DROP = 40.0


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
        ``auto`` uses the closed form unless an observation is censored or read as a
        mixture (reliability below 1 under the default reading).
    points : int
        Grid size for the quadrature form.

    Returns
    -------
    ParameterPosterior
        The posterior.
    """
    family = family_for(kind)
    censored = not all(o.conjugate for o in observations)
    if method == "closed form" or (method == "auto" and not censored):
        if censored:
            raise ValueError("censored or mixed observations have no closed-form posterior")
        return ParameterPosterior(kind, tuple(prior), "closed form",
                                  conjugate=family.conjugate(prior, observations))
    lo, hi = family.bracket(prior, list(observations))
    if any(o.mixed for o in observations):
        return _mixture_posterior(kind, tuple(prior), observations, lo, hi)
    for _ in range(80):
        u = np.linspace(lo, hi, 257)
        values = family.log_posterior_u(u, prior, observations)
        step = bulk_round(values[None, :], np.array([lo]), np.array([hi]), _DROP)
        if not step.settled[0]:
            lo, hi = float(step.lo[0]), float(step.hi[0])
            continue
        lo, hi = u[step.first[0]], u[step.last[0]]
        if step.inside[0] >= 64:
            break
    else:  # pragma: no cover - the integrand is log-concave, so this does not happen
        raise RuntimeError("could not locate the posterior bulk")
    nodes = np.linspace(lo, hi, points)
    log_w = family.log_posterior_u(nodes, prior, observations)
    weights = np.exp(log_w - log_w.max())
    weights[[0, -1]] *= 0.5
    return ParameterPosterior(kind, tuple(prior), "quadrature", nodes=nodes,
                              weights=weights / weights.sum())


def _mixture_posterior(kind: str, prior: tuple[float, ...],
                       observations: Sequence[Observation], lo: float, hi: float
                       ) -> ParameterPosterior:
    """A grid posterior for mixed items: it may hold narrow spikes away from its bulk.

    The grid is the exact engine's (:func:`~toolkit.inference.quadrature.composite_grid`),
    kept where the density is within :data:`_DROP` nats of its peak; weights are trapezoid
    cell widths times the density.
    """
    family = family_for(kind)
    features = [f for o in observations if not o.weightless for f in family.features(o)]
    bulks: list[tuple[float, float]] = []
    for _ in range(3):  # patches where the bulk is narrower than the grid (many events)
        grid = composite_grid(lo, hi, features + bulks)
        values = family.log_posterior_u(grid, prior, observations)
        centre, width, narrow = narrow_bulks(grid, values[None, :],
                                             trapezoid_weights(grid)[0], (hi - lo) / 2048)
        bulk = (float(centre[0]), float(width[0]))
        if not narrow[0] or bulk in bulks:
            break
        bulks.append(bulk)
    peak = values.max()
    if not np.isfinite(peak):
        raise ValueError("the observations are impossible under this prior")
    keep = values > peak - _DROP
    keep[1:] |= keep[:-1]
    keep[:-1] |= keep[1:]
    cell = np.zeros_like(grid)
    cell[1:] += np.diff(grid) / 2
    cell[:-1] += np.diff(grid) / 2
    weights = np.exp(values - peak) * cell
    weights = np.where(keep, weights, 0.0)
    return ParameterPosterior(kind, prior, "quadrature", nodes=grid[keep],
                              weights=weights[keep] / weights[keep].sum())


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
    nodes = family_for(kind).u_from_natural(draws)
    return ParameterPosterior(kind, tuple(prior), "draws", nodes=nodes,
                              weights=np.full(draws.size, 1.0 / draws.size),
                              dispersion=float(dispersion))


def sample_parameter(post: ParameterPosterior, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw the natural parameter from a closed-form or grid posterior (reference draws)."""
    if post.method == "closed form":
        return post.family.sample_conjugate(post.conjugate, size, rng)
    cdf = np.cumsum(post.weights)
    index = np.minimum(np.searchsorted(cdf, rng.random(size)), cdf.size - 1)
    step = np.gradient(post.nodes)[index] if post.method == "quadrature" and \
        post.nodes.size > 1 else 0.0
    return post.family.natural_from_u(post.nodes[index] + step * (rng.random(size) - 0.5))


def indicator_posteriors(
    case: Case,
    indicator: str,
    observations: Sequence[Observation],
    draws: Mapping[tuple[str, str], np.ndarray] | None = None,
    dispersion: float = 0.0,
    window: tuple[dt.date, dt.date] | None = None,
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
        PyMC ``parameter_draws``; when given, its draws are used for every scenario whose
        rate is constant (a moving rate's window average is read off level and slope).
    dispersion : float
        Negative-binomial dispersion of this indicator's counts (PyMC engine option).
    window : tuple of date, optional
        The window a predictive is wanted for (first and last day). Where the rate
        wanders, the posterior is then of the rate averaged over that window; without a
        window, of the rate at the case's reference time.

    Returns
    -------
    dict
        Scenario id -> posterior.
    """
    kind = case.indicators[indicator].kind
    from toolkit.inference.reference import with_references

    own = with_references(case, [o for o in observations if o.indicator == indicator])
    out = {}
    for scenario in case.priors.scenario_ids:
        prior = case.prior_params(indicator, scenario)
        key = (indicator, scenario)
        drift = case.drift(indicator, scenario)
        if draws is not None and key in draws:
            out[scenario] = from_draws(kind, prior, draws[key], dispersion)
        elif draws is not None and own and drift is None:
            raise KeyError(f"the PyMC engine returned no parameter draws for {key}")
        elif drift is not None:  # PyMC gives no draws of a moving rate: its level and slope
            start, end = (drift.t0, drift.t0) if window is None else (
                months_since_epoch(window[0]),
                months_since_epoch(window[1] + dt.timedelta(days=1)))
            nodes, weights = slope_posterior_nodes(family_for(kind), prior, own, drift,
                                                   start, end)
            out[scenario] = ParameterPosterior(kind, tuple(prior), "quadrature",
                                               nodes=nodes, weights=weights,
                                               scatter=drift.scatter(start, end))
        else:
            out[scenario] = parameter_posterior(kind, prior, own)
    return out
