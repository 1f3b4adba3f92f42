"""Marginal likelihoods of the PyMC engine's slots, estimated by importance sampling.

For a slot (one indicator, one scenario, one prefix of the indicator's items) the marginal
likelihood is ``m = integral prior(u) prod_i lik_i(u)^r_i du``. It is estimated by importance
sampling with a Student-t proposal (5 degrees of freedom) at the slot's posterior location
with 1.2 times its spread, mixed with a three-times-wider t (weight 0.2) as a defensive
component. For a sampled slot (all of an indicator's items: the model's unknowns) location
and spread are the mean and standard deviation of its NUTS draws; for an earlier prefix,
which only the trail needs, they are the grid moments of :func:`centre`. Every slot's target
is unimodal and lighter-tailed than the proposal, so the weights are bounded and the
estimate is stable. Its Monte Carlo standard error (of ``log m``) and the Pareto ``khat`` of
the weights are reported; a ``khat`` above 0.7 or an MCSE above 0.05 fails the diagnostics
gate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from toolkit.core.mathutil import logsumexp
from toolkit.families import FAMILIES
from toolkit.inference.engines.pymc_densities import NP, link_loglik, log_prior, with_reliability
from toolkit.inference.engines.pymc_layout import FamilyLayout

PROPOSAL_DF = 5.0
WIDEN = 1.2
DEFENSIVE_WEIGHT = 0.2
DEFENSIVE_WIDEN = 3.0
GRID = 257
#: Zoom until the grid spacing is at most 1/RESOLVED of each slot's posterior sd.
RESOLVED = 4.0
MAX_ZOOMS = 8


def log_target(fam: FamilyLayout, u: np.ndarray) -> np.ndarray:
    """Log prior plus tempered log likelihood of each used slot at the points ``u``.

    Parameters
    ----------
    fam : FamilyLayout
        The family's slots and links.
    u : ndarray, shape (n_slots, n_points)
        Points of ``u``, one row per used slot.

    Returns
    -------
    ndarray, shape (n_slots, n_points)
        Unnormalised log posterior density of each slot.
    """
    n = len(fam.slots)
    p1 = fam.slot_data["p1"][:n, None]
    p2 = fam.slot_data["p2"][:n, None]
    total = log_prior(NP, fam.family, u, p1, p2)
    for group, link in fam.link_data.items():
        if link["slot"].size:
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                ll = link_loglik(NP, fam.family, group, u[link["slot"]],
                                 {k: v[:, None] for k, v in link.items()})
                ll = with_reliability(NP, ll, {k: v[:, None] for k, v in link.items()})
            np.add.at(total, link["slot"], ll)
    return total


def centre(fam: FamilyLayout, brackets: np.ndarray) -> None:
    """Set ``center`` and ``scale`` of every slot (rough posterior location and width).

    A coarse grid over each slot's bracket locates the bulk; the grid then zooms in on it
    until the grid spacing resolves the bulk's width (a large exact count gives a
    posterior far narrower than its bracket). The result only preconditions NUTS (the
    sampled target does not depend on it), but a badly scaled slot makes NUTS take many
    more steps.
    """
    n = len(fam.slots)
    m, s = np.zeros(n), np.ones(n)
    lo, hi = brackets[:, 0], brackets[:, 1]
    for _ in range(MAX_ZOOMS if n else 0):
        grid = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, GRID)[None, :]
        with np.errstate(invalid="ignore", over="ignore"):
            lt = log_target(fam, grid)
        lt = np.where(np.isfinite(lt), lt, -np.inf)
        weights = np.exp(lt - lt.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        m = (weights * grid).sum(axis=1)
        s = np.sqrt(np.maximum((weights * (grid - m[:, None]) ** 2).sum(axis=1), 0.0))
        spacing = (hi - lo) / (GRID - 1)
        if np.all(s >= RESOLVED * spacing):
            break
        half = 10.0 * np.maximum(s, spacing)
        lo, hi = m - half, m + half
    fam.slot_data["center"] = m
    fam.slot_data["scale"] = np.maximum(s, 1e-6)


@dataclass
class MarginalEstimate:
    """Importance-sampling estimates for the used slots of one family."""

    log_m: np.ndarray
    mcse: np.ndarray
    khat: np.ndarray


def estimate(fam: FamilyLayout, loc: np.ndarray, spread: np.ndarray, n_points: int,
             rng: np.random.Generator) -> MarginalEstimate:
    """Estimate each slot's log marginal likelihood by importance sampling.

    Parameters
    ----------
    fam : FamilyLayout
        The family's slots and links.
    loc, spread : ndarray, shape (n_slots,)
        Location and standard deviation of each slot's posterior (of its NUTS draws for a
        sampled slot, its grid moments otherwise); the proposal is fitted to them.
    n_points : int
        Fresh proposal points per slot.
    rng : numpy Generator
        Source of the proposal points (seeded: results are reproducible).

    Returns
    -------
    MarginalEstimate
        ``log_m``, its Monte Carlo standard error and the weights' Pareto khat per slot.
    """
    from arviz_stats.base import array_stats

    loc = np.asarray(loc, float)[:, None]
    scale = np.maximum(np.asarray(spread, float)[:, None], 1e-8) * WIDEN
    n_slots = loc.shape[0]
    wide = rng.random((n_slots, n_points)) < DEFENSIVE_WEIGHT
    t = rng.standard_t(PROPOSAL_DF, size=(n_slots, n_points))
    u = loc + scale * np.where(wide, DEFENSIVE_WIDEN, 1.0) * t
    log_q = np.logaddexp(
        np.log1p(-DEFENSIVE_WEIGHT) + _t_logpdf(u, loc, scale),
        np.log(DEFENSIVE_WEIGHT) + _t_logpdf(u, loc, DEFENSIVE_WIDEN * scale),
    )
    log_w = log_target(fam, u) - log_q
    log_w = np.where(np.isnan(log_w), -np.inf, log_w)
    log_m = logsumexp(log_w, axis=1) - np.log(n_points)
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    relative_var = w.var(axis=1) / np.maximum(w.mean(axis=1), 1e-300) ** 2
    mcse = np.sqrt(relative_var / n_points)
    # psislw negates its input (the LOO convention), hence -row
    khat = np.array([
        float(array_stats.psislw(-row, axis=-1)[1]) if np.isfinite(row).all() else np.inf
        for row in log_w
    ])
    return MarginalEstimate(np.asarray(log_m, float), mcse, khat)


def _t_logpdf(u: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Log density of the Student-t proposal (:data:`PROPOSAL_DF` degrees of freedom)."""
    df = PROPOSAL_DF
    const = special.gammaln((df + 1) / 2) - special.gammaln(df / 2) - 0.5 * np.log(df * np.pi)
    return const - np.log(scale) - (df + 1) / 2 * np.log1p(((u - loc) / scale) ** 2 / df)


def natural(family: str, u: np.ndarray) -> np.ndarray:
    """The natural parameter (monthly rate, log monthly amount, share) of ``u``."""
    return FAMILIES[family].natural_from_u(u)
