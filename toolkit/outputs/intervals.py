"""Credible intervals for scenario probabilities.

Given the model, ``P(scenario | evidence)`` is a single number. What analysts hold loosely
is the prior weights themselves, so the interval expresses that: the weights are treated
as ``w ~ Dirichlet(c * stated_weights)``, ``c`` being the case's ``weight_concentration``
(how many cases' worth of experience the weights rest on). Then

    P(k | evidence, w) = w_k m_k / sum_j w_j m_j        (m_k: marginal likelihood)

and its posterior over ``w`` is exact: ``p(w | evidence)`` is the mixture
``sum_j P(j | evidence) Dirichlet(c * stated + e_j)``. The interval is the central
``level`` range of ``P(k | evidence, w)`` under that posterior; its mean is exactly the
point probability. Strong evidence narrows it; weak evidence leaves it as wide as the
weights are uncertain. Both engines use this function on their own ``m_k``.
"""

from __future__ import annotations

import numpy as np

from toolkit.core.defaults import LEVEL
from toolkit.core.mathutil import logsumexp

DRAWS = 2000


def weight_draws(
    weights: np.ndarray,
    log_marginal: np.ndarray,
    concentration: float,
    seed: int = 0,
    draws: int = DRAWS,
) -> np.ndarray:
    """Draws of each scenario's probability under the posterior of the weights.

    Parameters
    ----------
    weights : ndarray, shape (K,)
        Stated prior weights, summing to 1.
    log_marginal : ndarray, shape (K,)
        Log marginal likelihood of the evidence under each scenario.
    concentration : float
        Dirichlet concentration ``c`` of the weights.
    seed : int
        Seed of the Monte Carlo draws (the result is reproducible).
    draws : int
        Number of draws.

    Returns
    -------
    ndarray, shape (draws, K)
        ``P(k | evidence, w)`` for each draw of ``w``; zero-weight scenarios are 0. The
        mean of each column is the point probability up to Monte Carlo error.
    """
    weights = np.asarray(weights, float)
    log_marginal = np.asarray(log_marginal, float)
    live = weights > 0
    out = np.zeros((draws, weights.size))
    w_live, lm_live = weights[live], log_marginal[live]
    log_post = np.log(w_live) + lm_live
    component_probs = np.exp(log_post - logsumexp(log_post))
    rng = np.random.default_rng(seed)
    components = rng.choice(w_live.size, size=draws, p=component_probs)
    shape = np.tile(concentration * w_live, (draws, 1))
    shape[np.arange(draws), components] += 1.0
    gammas = rng.standard_gamma(shape)
    sampled = gammas / gammas.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_joint = np.log(sampled) + lm_live
    out[:, live] = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    return out


def weight_intervals(
    weights: np.ndarray,
    log_marginal: np.ndarray,
    concentration: float,
    level: float = LEVEL,
    seed: int = 0,
    draws: int = DRAWS,
) -> np.ndarray:
    """Central credible intervals of each scenario's probability under weight uncertainty.

    Parameters
    ----------
    weights : ndarray, shape (K,)
        Stated prior weights, summing to 1.
    log_marginal : ndarray, shape (K,)
        Log marginal likelihood of the evidence under each scenario.
    concentration : float
        Dirichlet concentration ``c`` of the weights.
    level : float
        Interval probability.
    seed : int
        Seed of the Monte Carlo draws (the result is reproducible).
    draws : int
        Number of draws.

    Returns
    -------
    ndarray, shape (K, 2)
        Lower and upper ends; zero-weight scenarios get ``[0, 0]``.
    """
    sampled = weight_draws(weights, log_marginal, concentration, seed=seed, draws=draws)
    tail = (1 - level) / 2
    return np.quantile(sampled, [tail, 1 - tail], axis=0).T
