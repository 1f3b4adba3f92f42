"""The forward algorithm: hidden regimes summed out month by month.

For an initial distribution ``pi``, a transition matrix ``A`` and monthly log emissions
``E[t, k]``, the log-likelihood of the evidence is ``log sum_k alpha_T(k)`` with
``alpha_0 = pi * exp(E_0)`` and ``alpha_t(k) = exp(E_t(k)) sum_j alpha_{t-1}(j) A[j, k]``.

* :func:`forward_loglik` builds it symbolically in PyTensor (``pytensor.scan`` over months,
  ``logsumexp`` in log space) for the PyMC model, so the sampler sees the regimes summed out.
* :func:`forward` is an independent NumPy version (probability space with per-month scaling,
  batched over posterior draws) that also returns the filtered probabilities; the tests
  check the two against each other and against brute-force enumeration of every path.
* :func:`backward`, :func:`smoothed` and :func:`avoid_probability` give the smoothed
  probabilities and the chance that the chain avoids a regime over a window of months.
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt

from toolkit.core.mathutil import logsumexp


def forward_loglik(
    log_initial: pt.TensorVariable,
    log_transition: pt.TensorVariable,
    log_emissions: pt.TensorVariable,
) -> pt.TensorVariable:
    """Symbolic log-likelihood of an HMM with the hidden states summed out.

    Parameters
    ----------
    log_initial : TensorVariable, shape (S,)
        Log initial probabilities (``-inf`` allowed for impossible states).
    log_transition : TensorVariable, shape (S, S)
        Log transition matrix, rows = from, columns = to (``-inf`` where ruled out).
    log_emissions : TensorVariable, shape (T, S), T >= 1
        Log-likelihood of each month's evidence under each state.

    Returns
    -------
    TensorVariable
        Scalar ``log p(evidence)``.
    """
    first = log_initial + log_emissions[0]

    def step(log_e: pt.TensorVariable, previous: pt.TensorVariable,
             log_a: pt.TensorVariable) -> pt.TensorVariable:
        return log_e + pt.logsumexp(previous[:, None] + log_a, axis=0)

    rest = pytensor.scan(step, sequences=[log_emissions[1:]], outputs_info=[first],
                         non_sequences=[log_transition], return_updates=False)
    last = pt.concatenate([first[None, :], rest], axis=0)[-1]
    return pt.logsumexp(last)


def forward(
    initial: np.ndarray, transition: np.ndarray, log_emissions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Forward pass in probability space with scaling, batched over draws.

    Parameters
    ----------
    initial : ndarray, shape (N, S)
        Initial probabilities per draw.
    transition : ndarray, shape (N, S, S)
        Transition matrix per draw (rows = from).
    log_emissions : ndarray, shape (T, S) or (N, T, S)
        Log emissions (shared by all draws, or per draw).

    Returns
    -------
    cumulative : ndarray, shape (N, T)
        ``log p(evidence of months 0..t)`` for every ``t``.
    filtered : ndarray, shape (N, T, S)
        ``P(state_t | evidence of months 0..t)``.
    """
    initial = np.asarray(initial, float)
    transition = np.asarray(transition, float)
    log_e = np.broadcast_to(np.asarray(log_emissions, float),
                            (initial.shape[0], *np.shape(log_emissions)[-2:]))
    draws, months, states = log_e.shape
    top = log_e.max(axis=2)
    top = np.where(np.isfinite(top), top, 0.0)
    scaled = np.exp(log_e - top[:, :, None])
    filtered = np.empty((draws, months, states))
    cumulative = np.empty((draws, months))
    alpha = initial * scaled[:, 0]
    log_total = np.zeros(draws)
    with np.errstate(divide="ignore", invalid="ignore"):
        for t in range(months):
            if t:
                alpha = np.einsum("ns,nsk->nk", filtered[:, t - 1], transition) * scaled[:, t]
            norm = alpha.sum(axis=1)
            log_total = log_total + np.log(norm) + top[:, t]
            filtered[:, t] = alpha / norm[:, None]
            cumulative[:, t] = log_total
    return cumulative, filtered


def backward(transition: np.ndarray, log_emissions: np.ndarray) -> np.ndarray:
    """Log backward messages ``log p(evidence of months t+1..T-1 | state_t)``.

    Parameters
    ----------
    transition : ndarray, shape (N, S, S)
        Transition matrix per draw.
    log_emissions : ndarray, shape (T, S) or (N, T, S)
        Log emissions.

    Returns
    -------
    ndarray, shape (N, T, S)
        Log backward messages (zero in the last month).
    """
    transition = np.asarray(transition, float)
    draws, states = transition.shape[0], transition.shape[1]
    log_e = np.broadcast_to(np.asarray(log_emissions, float),
                            (draws, *np.shape(log_emissions)[-2:]))
    months = log_e.shape[1]
    with np.errstate(divide="ignore"):
        log_a = np.log(transition)
    out = np.zeros((draws, months, states))
    for t in range(months - 2, -1, -1):
        nxt = log_e[:, t + 1] + out[:, t + 1]
        out[:, t] = logsumexp(log_a + nxt[:, None, :], axis=2)
    return out


def smoothed(
    initial: np.ndarray, transition: np.ndarray, log_emissions: np.ndarray
) -> np.ndarray:
    """``P(state_t | all evidence)`` for every month, batched over draws (shape (N, T, S))."""
    _, filtered = forward(initial, transition, log_emissions)
    log_beta = backward(transition, log_emissions)
    top = log_beta.max(axis=2, keepdims=True)
    weights = filtered * np.exp(log_beta - np.where(np.isfinite(top), top, 0.0))
    return weights / weights.sum(axis=2, keepdims=True)


def avoid_probability(
    initial: np.ndarray,
    transition: np.ndarray,
    log_emissions: np.ndarray,
    state: int,
    start: int,
) -> np.ndarray:
    """``P(state_u != state for every month u in start..t | all evidence)`` for each ``t``.

    Parameters
    ----------
    initial, transition, log_emissions
        As for :func:`forward`.
    state : int
        The state to avoid.
    start : int
        First month of the window.

    Returns
    -------
    ndarray, shape (N, T - start)
        The probability for ``t = start, ..., T - 1``; non-increasing in ``t``.
    """
    log_e = np.array(np.broadcast_to(np.asarray(log_emissions, float),
                                     (initial.shape[0], *np.shape(log_emissions)[-2:])))
    cumulative, _ = forward(initial, transition, log_e)
    total = cumulative[:, -1]
    log_beta = backward(transition, log_e)
    log_e[:, start:, state] = -np.inf
    masked_cum, masked_filtered = forward(initial, transition, log_e)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_joint = (np.log(masked_filtered[:, start:]) + masked_cum[:, start:, None]
                     + log_beta[:, start:])
        out = np.exp(logsumexp(log_joint, axis=2) - total[:, None])
    return np.nan_to_num(out, nan=0.0).clip(0.0, 1.0)
