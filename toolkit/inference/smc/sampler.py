"""Sequential Monte Carlo over the evidence: marginal likelihoods, the trail and their errors.

For one indicator under one scenario the unknowns are the whitened coordinates ``z`` of its
latent path (:mod:`.paths`: level, slope, monthly walk; tens of dimensions with a walk). A
cloud of particles starts as prior draws (``z ~ Normal(0, I)``) and takes the items one at a
time in report order: each particle's weight is multiplied by the item's likelihood (the
families' :meth:`~toolkit.families.base.Family.item_log_lik`, reliability included, the
function the exact engine integrates). The weighted mean of that likelihood estimates
``p(item | earlier items, scenario)``, the trail's increment, and the product of these
estimates is an unbiased estimate of the marginal likelihood, which the scenario's Bayes
rule needs. Unlike importance sampling from one fitted proposal, the cloud follows the
posterior as it narrows and keeps every mode it passes through (a report that may be false
leaves a spike beside a plateau).

When the effective sample size falls below :data:`RESAMPLE_BELOW` of the particles they
are resampled (systematically) and moved by Metropolis steps on ``-|z|^2 / 2`` plus the log
likelihood of the items so far, the proposal's covariance that of the cloud, scaled
``2.38 / sqrt(d)`` and adapted towards a quarter of the moves accepted, until on average
every particle has moved :data:`MOVES` times. Several independent clouds (*chains*) run
side by side: the spread of their log marginals gives the Monte Carlo error, and their
pooled mean is the estimate (still unbiased).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from toolkit.core.mathutil import logsumexp
from toolkit.families.base import Family
from toolkit.families.observation import Observation
from toolkit.inference.smc.paths import PathDesign, offsets

#: Accepted moves per particle (on average) after each resampling. Measured with
#: :data:`RESAMPLE_BELOW` on the bundled case's hardest slot (300,000 shells, maybe false),
#: 24 seeds: the log marginal's spread was 0.025 at 3 moves and 50%, 0.013 at 2 and 80% (1.5
#: times the cost); the bundled case's largest gap over seeds 1-8 fell from 0.019 to 0.009.
MOVES = 2.0
MAX_STEPS, TARGET_ACCEPTANCE = 40, 0.25  # Metropolis steps per round at most; its aim
#: The independent proposal: Student-t degrees of freedom, and its spread over the cloud's.
IMH_DF = 5.0
IMH_WIDEN = 1.5
#: Resample once the effective sample size is below this share (tempering steps keep it).
RESAMPLE_BELOW = 0.8
#: Halvings of the tempering step's bracket, in log (1e-9 to 1 of what is left: 4% wide).
BISECTIONS = 10


@dataclass
class SlotFit:
    """The fit of one indicator under one scenario.

    Attributes
    ----------
    cumulative : ndarray, shape (n_obs,)
        Pooled log marginal likelihood of each prefix of the observations.
    chain_cumulative : ndarray, shape (chains, n_obs)
        The same, chain by chain.
    levels : ndarray, shape (chains, particles)
        The level ``u`` of the final, equally weighted particles (posterior draws).
    distinct : int
        Distinct final particles over all chains.
    rounds : int
        Resample-move rounds.
    acceptance : float
        Mean acceptance of the moves (NaN without any).
    """

    cumulative: np.ndarray
    chain_cumulative: np.ndarray
    levels: np.ndarray
    distinct: int
    rounds: int
    acceptance: float

    @property
    def mcse(self) -> float:
        """Monte Carlo standard error of the final log marginal (between chains)."""
        final = self.chain_cumulative[:, -1] if self.chain_cumulative.size else np.zeros(1)
        if final.size < 2:
            return math.nan
        if not np.all(np.isfinite(final)):
            return 0.0 if np.all(final == -np.inf) else math.inf
        return float(np.std(final, ddof=1) / math.sqrt(final.size))


@dataclass
class Cloud:
    """The particles of every chain: coordinates, levels, weights, likelihood so far."""

    z: np.ndarray
    u: np.ndarray
    log_w: np.ndarray
    earlier: np.ndarray
    scale: float
    rounds: int = 0
    accepted: float = 0.0
    proposed: float = 0.0

    def copy(self) -> Cloud:
        """An independent copy (a branch of a report that may be false)."""
        return Cloud(self.z.copy(), self.u.copy(), self.log_w.copy(), self.earlier.copy(),
                     self.scale, self.rounds, self.accepted, self.proposed)


LogLik = Callable[[np.ndarray, np.ndarray], np.ndarray]


def fit_slot(family: Family, params: tuple[float, ...], design: PathDesign,
             observations: Sequence[Observation], particles: int, chains: int,
             rng: np.random.Generator, check: Callable[[], None] | None = None) -> SlotFit:
    """Run the clouds of one indicator under one scenario through its observations.

    A report that may be false (the mixture reading) is absorbed as two branches from the
    same cloud, genuine (the item's likelihood, reliability 1) and not (its reference),
    each in tempered steps; the item's increment is ``log(r m_genuine + (1 - r) m_false)``
    and the next cloud draws each particle from a branch with those weights. A narrow
    spike of a genuine figure beside the broad plateau of a false one is so found even
    when no prior draw lands in it. Costly likelihoods are read from their tables
    (:meth:`~toolkit.families.base.Family.sampler_log_lik`).

    Parameters
    ----------
    family : Family
        The indicator's likelihood family.
    params : tuple
        The scenario's prior parameters of the level.
    design : PathDesign
        The latent path's coordinates.
    observations : sequence of Observation
        The indicator's observations in report order (quiet time last).
    particles, chains : int
        Particles per chain and independent chains.
    rng : numpy Generator
        Source of every random number (seeded: same seed, same numbers).
    check : callable, optional
        Called between items (raises to stop: cancellation).

    Returns
    -------
    SlotFit
        Prefix log marginals (pooled and per chain), posterior draws of the level.
    """
    readings = [design.reading(o, family.takes_rates) for o in observations]

    def loglik(obs: Observation, reading: Any) -> LogLik:
        item = family.sampler_log_lik(obs, params)

        def ll(z: np.ndarray, u: np.ndarray) -> np.ndarray:
            rate, event = offsets(design, reading, z)
            with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
                value = np.asarray(item(u + rate, u + event), float)
            return np.where(np.isnan(value), -np.inf, np.broadcast_to(value, z.shape[:-1]))
        return ll

    items = [loglik(o, r) for o, r in zip(observations, readings, strict=True)]
    z = rng.standard_normal((chains, particles, design.dims))
    cloud = Cloud(z, family.u_from_normal(z[..., 0], params), np.zeros((chains, particles)),
                  np.zeros((chains, particles)), 2.38 / math.sqrt(design.dims))
    chain_cumulative = np.full((chains, len(observations)), -np.inf)
    running = np.zeros(chains)
    for i, obs in enumerate(observations):
        if check is not None:
            check()
        if obs.weightless:
            chain_cumulative[:, i] = running
            continue
        mover = _Mover(family, params, items[:i], rng)
        if obs.mixed and 0.0 < obs.reliability < 1.0:
            step, cloud = _absorb_report(cloud, obs, readings[i], loglik, mover, rng)
        else:
            step = _absorb(cloud, items[i], mover, rng, equal=i == len(observations) - 1)
        running = running + step
        chain_cumulative[:, i] = running
        if not np.any(np.isfinite(running)):
            break
        cloud.earlier = cloud.earlier + items[i](cloud.z, cloud.u)
    if np.ptp(cloud.log_w) > 0:  # a last report's branches left weights: draws are equal
        cloud.z, cloud.u, cloud.earlier, _ = _resample(cloud.z, cloud.u, cloud.earlier,
                                                       cloud.earlier, cloud.log_w, rng)
    with np.errstate(divide="ignore"):
        pooled = logsumexp(chain_cumulative, axis=0) - math.log(chains) \
            if observations else np.zeros(0)
    distinct = int(sum(np.unique(cloud.z[c], axis=0).shape[0] for c in range(chains)))
    return SlotFit(np.asarray(pooled, float), chain_cumulative, cloud.u, distinct,
                   cloud.rounds, cloud.accepted / cloud.proposed if cloud.proposed else math.nan)


class _Mover:
    """Metropolis moves on the earlier items plus a tempered current one (see :func:`_move`)."""

    def __init__(self, family: Family, params: tuple[float, ...], earlier: list[LogLik],
                 rng: np.random.Generator):
        self.family, self.params, self.earlier, self.rng = family, params, earlier, rng

    def __call__(self, cloud: Cloud, current: np.ndarray, ll: LogLik, beta: float,
                 fitted: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        z, u, earlier, current, scale, acc, prop = _move(
            self.family, self.params, cloud.z, cloud.u, cloud.earlier, current, beta,
            self.earlier, ll, cloud.scale, self.rng, fitted)
        cloud.z, cloud.u, cloud.earlier, cloud.scale = z, u, earlier, scale
        cloud.rounds += 1
        cloud.accepted += acc
        cloud.proposed += prop
        return current


def _absorb(cloud: Cloud, ll: LogLik, mover: _Mover, rng: np.random.Generator,
            equal: bool = False) -> np.ndarray:
    """Take one likelihood term into ``cloud`` in tempered steps; its log increment per chain.

    ``equal``: end with equally weighted particles (resampled and moved).
    """
    particles = cloud.log_w.shape[1]
    current = ll(cloud.z, cloud.u)
    if not equal and np.all(current == current[:, :1]) and np.all(np.isfinite(current)):
        return current[:, 0].copy()  # the same for every particle: weights do not change
    beta = 0.0
    step = np.zeros(cloud.log_w.shape[0])
    while beta < 1.0:  # a spike is approached gradually
        delta = _next_step(cloud.log_w, current, 1.0 - beta)
        before = logsumexp(cloud.log_w, axis=1)
        cloud.log_w = cloud.log_w + delta * current
        after = logsumexp(cloud.log_w, axis=1)
        with np.errstate(invalid="ignore"):
            step = step + np.where(np.isfinite(before), after - before, -np.inf)
        beta = 1.0 if delta >= 1.0 - beta - 1e-12 else beta + delta
        if not np.any(np.isfinite(after)):
            break
        if beta < 1.0 or equal or np.any(_ess(cloud.log_w) < RESAMPLE_BELOW * particles):
            fitted = _weighted_moments(cloud.z, cloud.log_w)  # before the cloud collapses
            cloud.z, cloud.u, cloud.earlier, current = _resample(
                cloud.z, cloud.u, cloud.earlier, current, cloud.log_w, rng)
            cloud.log_w = np.zeros_like(cloud.log_w)
            current = mover(cloud, current, ll, beta, fitted)
    return step


def _absorb_report(cloud: Cloud, obs: Observation, reading: Any,
                   loglik: Callable[[Observation, Any], LogLik], mover: _Mover,
                   rng: np.random.Generator) -> tuple[np.ndarray, Cloud]:
    """A report genuine with probability ``r``: both branches, then one cloud of their mix.

    Each particle of the merged cloud comes from the genuine branch with probability
    ``r m_genuine / (r m_genuine + (1 - r) m_false)`` (per chain), with its weight within
    that branch: the weighted cloud then holds the mixture posterior.
    """
    r = obs.reliability
    genuine, false = cloud.copy(), cloud.copy()
    step_genuine = _absorb(genuine, loglik(replace(obs, reliability=1.0), reading), mover,
                           rng)
    step_false = _absorb(false, loglik(replace(obs, reliability=0.0), reading), mover, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = math.log(r) + step_genuine, math.log1p(-r) + step_false
        step = np.logaddexp(a, b)
        share = np.where(np.isfinite(step), np.exp(a - step), 0.0)
    pick = rng.random(cloud.log_w.shape) < share[:, None]
    merged = genuine.copy()
    merged.z = np.where(pick[..., None], genuine.z, false.z)
    merged.u = np.where(pick, genuine.u, false.u)
    merged.earlier = np.where(pick, genuine.earlier, false.earlier)
    # each branch's weights normalised within it: the merged cloud holds r m_g / m of the
    # genuine branch's distribution and the rest of the false one's
    merged.log_w = np.where(pick, genuine.log_w - logsumexp(genuine.log_w, axis=1)[:, None],
                            false.log_w - logsumexp(false.log_w, axis=1)[:, None])
    merged.scale = min(genuine.scale, false.scale)
    merged.rounds = genuine.rounds + false.rounds - cloud.rounds
    merged.accepted = genuine.accepted + false.accepted - cloud.accepted
    merged.proposed = genuine.proposed + false.proposed - cloud.proposed
    return step, merged


def _ess(log_w: np.ndarray) -> np.ndarray:
    """Effective sample size of each chain's weights."""
    with np.errstate(invalid="ignore"):
        ess = np.exp(2 * logsumexp(log_w, axis=1) - logsumexp(2 * log_w, axis=1))
    return np.where(np.isfinite(ess), ess, 0.0)


def _next_step(log_w: np.ndarray, ll: np.ndarray, remaining: float) -> float:
    """The next step of the tempering exponent, at most ``remaining``.

    The largest step that keeps every chain's effective sample size at
    :data:`RESAMPLE_BELOW` of its particles.

    Where the item rules particles out (``-inf``) no smaller step helps: the whole rest is
    taken and the moves that follow refill the cloud.
    """
    n = log_w.shape[1]
    floor = RESAMPLE_BELOW * n
    with np.errstate(invalid="ignore"):
        if np.all(_ess(log_w + remaining * ll) >= floor):
            return remaining
        if np.any(_ess(np.where(np.isfinite(ll), log_w, -np.inf)) < floor):
            return remaining
    low, high = math.log(remaining * 1e-9), math.log(remaining)  # steps span decades
    for _ in range(BISECTIONS):
        mid = (low + high) / 2
        with np.errstate(invalid="ignore"):
            ok = np.all(_ess(log_w + math.exp(mid) * ll) >= floor)
        low, high = (mid, high) if ok else (low, mid)
    return math.exp(low)


def _resample(z: np.ndarray, u: np.ndarray, earlier: np.ndarray, current: np.ndarray,
              log_w: np.ndarray, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Systematic resampling within each chain (a dead chain keeps its particles)."""
    chains, n = log_w.shape
    picks = np.empty((chains, n), dtype=np.int64)
    for c in range(chains):
        top = logsumexp(log_w[c])
        if not np.isfinite(top):
            picks[c] = np.arange(n)
            continue
        cdf = np.cumsum(np.exp(log_w[c] - top))
        cdf[-1] = 1.0
        picks[c] = np.minimum(np.searchsorted(cdf, (rng.random() + np.arange(n)) / n), n - 1)
    rows = np.arange(chains)[:, None]
    return z[rows, picks], u[rows, picks], earlier[rows, picks], current[rows, picks]


def _weighted_moments(z: np.ndarray, log_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of each chain's weighted cloud (regularised)."""
    w = np.exp(log_w - logsumexp(log_w, axis=1)[:, None])
    w = np.where(np.isfinite(w), w, 0.0)
    mean = np.einsum("cn,cnd->cd", w, z)
    centred = z - mean[:, None, :]
    cov = np.einsum("cn,cnd,cne->cde", w, centred, centred)
    dims = z.shape[-1]
    cov += np.eye(dims)[None] * (1e-12 + 1e-6 * np.trace(cov, axis1=1, axis2=2)[:, None, None]
                                 / dims)
    return mean, cov


def _move(family: Family, params: tuple[float, ...], z: np.ndarray, u: np.ndarray,
          earlier: np.ndarray, current: np.ndarray, beta: float, items: list[LogLik],
          ll: LogLik, scale: float, rng: np.random.Generator,
          fitted: tuple[np.ndarray, np.ndarray]
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, float]:
    """Metropolis moves on the earlier ``items`` plus ``beta`` times ``ll``.

    Steps alternate between an independent proposal, a Student-t (:data:`IMH_DF` degrees
    of freedom) at the weighted cloud's moments before resampling (``fitted``, its spread
    times :data:`IMH_WIDEN`), which carries the whole cloud to where the new item moved the
    posterior in one step, and a random walk with the resampled cloud's covariance (its
    ``scale`` adapts towards :data:`TARGET_ACCEPTANCE`, returned for the next round), which
    explores around each particle.
    """
    chains, n, dims = z.shape
    _, cov = _weighted_moments(z, np.zeros((chains, n)))
    chol = np.linalg.cholesky(cov)
    centre, spread = fitted
    spread_chol = np.linalg.cholesky(spread) * IMH_WIDEN
    inverse_t = np.swapaxes(np.linalg.inv(spread_chol), 1, 2)

    def log_q(points: np.ndarray) -> np.ndarray:  # t density up to a constant
        x = np.matmul(points - centre[:, None], inverse_t)  # one product per chain
        return -(IMH_DF + dims) / 2 * np.log1p(np.sum(x * x, axis=-1) / IMH_DF)

    moved = np.zeros((chains, n))
    accepted = proposed = 0.0
    for step in range(MAX_STEPS):
        independent = step % 2 == 0
        if independent:
            t = rng.standard_normal((chains, n, dims)) / np.sqrt(
                rng.chisquare(IMH_DF, (chains, n, 1)) / IMH_DF)
            z_new = centre[:, None] + np.matmul(t, np.swapaxes(spread_chol, 1, 2))
            correction = log_q(z) - log_q(z_new)
        else:
            shift = np.matmul(rng.standard_normal((chains, n, dims)), np.swapaxes(chol, 1, 2))
            z_new = z + scale * shift
            correction = 0.0
        u_new = family.u_from_normal(z_new[..., 0], params)
        earlier_new = np.zeros((chains, n))
        for item in items:
            earlier_new += item(z_new, u_new)
        current_new = ll(z_new, u_new)
        with np.errstate(invalid="ignore"):
            log_ratio = (earlier_new + beta * current_new) - (earlier + beta * current) \
                - 0.5 * (np.sum(z_new ** 2, axis=-1) - np.sum(z ** 2, axis=-1)) + correction
            accept = np.log(rng.random((chains, n))) < np.where(np.isnan(log_ratio), -np.inf,
                                                                log_ratio)
        z = np.where(accept[..., None], z_new, z)
        u = np.where(accept, u_new, u)
        earlier = np.where(accept, earlier_new, earlier)
        current = np.where(accept, current_new, current)
        moved += accept
        accepted, proposed = accepted + accept.sum(), proposed + accept.size
        if not independent:
            rate = float(accept.mean())
            scale = float(np.clip(scale * math.exp(2.0 * (rate - TARGET_ACCEPTANCE)), 1e-3,
                                  5.0))
        if moved.mean() >= MOVES:
            break
    return z, u, earlier, current, scale, accepted, proposed
