"""The :class:`Family` interface: everything that differs between indicator kinds.

A family is one prior-likelihood pair on one unconstrained parameter ``u`` per indicator
and scenario (log monthly rate, log monthly amount, logit share). It owns all the maths
that depends on the kind, in the spirit of bambi's ``Family`` classes:

* **priors** - fitting the prior to an analyst's 90% interval or distribution;
* **evidence** - reading a value into bounds on a total, and an item into an observation;
* **likelihood** - exact, censored and tempered, on a grid of ``u`` (NumPy) and in the
  NumPy/PyTensor form the PyMC engine shares with its importance sampler;
* **posteriors and predictives** - the conjugate update, the predictive probability and
  CDF of a future window's total, the bins of the watch list;
* **charts** - what a scenario predicts and what an item observed, on one scale.

Outside :mod:`toolkit.families` no code branches on an indicator's kind: it asks the
indicator's family (:func:`toolkit.families.family_for`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from toolkit.families.observation import DAYS_PER_MONTH, Observation, anchor_parts
from toolkit.families.tables import CubicTable, quantile_from_normal
from toolkit.families.values import ParsedValue

if TYPE_CHECKING:
    from toolkit.families.posterior import ParameterPosterior

Params = tuple[float, ...]


def mix_reliability(ll: np.ndarray, obs: Observation) -> np.ndarray:
    """Apply an item's reliability to its untempered log likelihood ``ll``.

    See :meth:`Family.item_log_lik` for the two readings.
    """
    r = obs.reliability
    if r >= 1.0:
        return ll
    if not obs.mixture:
        return r * ll
    if r <= 0.0:
        return np.full_like(np.asarray(ll, dtype=float), obs.log_ref)
    with np.errstate(invalid="ignore"):
        return np.logaddexp(math.log(r) + ll, math.log1p(-r) + obs.log_ref)


class Family(ABC):
    """One likelihood family (see the module docstring for what it owns).

    Attributes
    ----------
    name : str
        The family's one name (``gamma_poisson``, ``normal_lognormal``, ``beta_bernoulli``).
    distribution : str
        The key of a directly given prior in a priors file (``gamma``, ``lognormal``,
        ``beta``).
    takes_rates : bool
        Whether values may be given as rates (``drones/day``) and expectations per period.
    whole_totals : bool
        Whether window totals are whole numbers.
    counts_signals : bool
        Whether a window holds a stated number of signals (questions need ``signals:``).
    overdispersion : bool
        Whether the PyMC engine's negative-binomial extension applies.
    parameter_name : str
        Name of the natural parameter in saved PyMC posteriors (``rate``, ...).
    link_groups, link_fields : tuple of str
        The PyMC engine's link groups (likelihood forms) and their data fields.
    dispersion_groups : tuple of str
        Link groups added when an indicator is overdispersed (PyMC engine).
    pad_params : tuple of float
        Prior parameters of a PyMC padding slot (never reported).
    chart_log_scale : bool
        Whether the predictions chart draws this family on a log axis.
    point_process : bool
        Whether totals come from events in time, so a watched indicator's one-day items
        can be read as logged events (``gamma_poisson``).
    """

    name: ClassVar[str]
    distribution: ClassVar[str]
    takes_rates: ClassVar[bool] = True
    whole_totals: ClassVar[bool] = True
    counts_signals: ClassVar[bool] = False
    overdispersion: ClassVar[bool] = False
    parameter_name: ClassVar[str]
    link_groups: ClassVar[tuple[str, ...]]
    dispersion_groups: ClassVar[tuple[str, ...]] = ()
    link_fields: ClassVar[tuple[str, ...]]
    pad_params: ClassVar[tuple[float, float]]
    chart_log_scale: ClassVar[bool] = True
    point_process: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"<family {self.name}>"

    # --- priors ---------------------------------------------------------------------------

    @abstractmethod
    def prior(self, expectation: Any, per_months: float, noise_log_sd: float) -> Params:
        """Prior parameters from an expectation (a 90% interval or a distribution).

        Parameters
        ----------
        expectation : toolkit.model.priors.Expectation
            ``low``, ``high``, ``level``, or the distribution named :attr:`distribution`.
        per_months : float
            Length of the expectation's period in months.
        noise_log_sd : float
            The indicator's reporting noise (read by ``normal_lognormal`` only).
        """

    def scale_bound(self, value: float, factor: float) -> float:
        """An expectation bound moved by ``factor`` on its natural scale.

        Rates and amounts are multiplied; :class:`~toolkit.families.beta_bernoulli.
        BetaBernoulli` multiplies the odds of a share instead, so the result stays in (0, 1).
        Sensitivity analysis and sweeps use it for "halved" and "doubled".
        """
        return value * factor

    def expectation_problem(self, kind: str, expectation: Any) -> str | None:
        """A problem description if ``expectation`` does not fit this family, else ``None``."""
        if getattr(expectation, "walk", None) is not None and not self.takes_rates:
            return f"a {kind} indicator takes no walk (a share does not wander month by month)"
        if getattr(expectation, "path", None) is not None:
            if not self.takes_rates:
                return f"a {kind} indicator takes no path (give one interval of the share)"
            if any(point.low <= 0 for point in expectation.path):
                return f"every low of a path must be > 0 for a {kind} indicator"
            return None
        if expectation.low is not None and expectation.high is not None:
            if expectation.low <= 0:
                return f"low must be > 0 for a {kind} indicator (use a small positive number)"
            return None
        given = next(n for n in ("gamma", "lognormal", "beta")
                     if getattr(expectation, n) is not None)
        if given != self.distribution:
            return f"a {kind} indicator takes a '{self.distribution}' distribution, not '{given}'"
        return None

    # --- evidence -------------------------------------------------------------------------

    @abstractmethod
    def parse_value(self, text: str) -> ParsedValue:
        """Read an evidence value into bounds on the period's total (before rate units).

        Raises
        ------
        ValueError
            With a message saying what is accepted.
        """

    def observation(self, item_id: str, indicator: str, parsed: ParsedValue, factor: float,
                    days: int, reliability: float) -> Observation:
        """The observation of an item whose value ``parsed`` is scaled by a rate ``factor``."""
        low, high = parsed.low * factor, parsed.high * factor
        return Observation(item_id, indicator, days / DAYS_PER_MONTH, low, high, reliability,
                           parsed.trials)

    # --- likelihood on a grid of u (NumPy) ------------------------------------------------

    @abstractmethod
    def log_prior_u(self, u: np.ndarray, params: Params) -> np.ndarray:
        """Log prior density of ``u``."""

    @abstractmethod
    def log_lik_u(self, u: np.ndarray, obs: Observation, params: Params) -> np.ndarray:
        """Untempered log likelihood of one observation on a grid of ``u``."""

    @abstractmethod
    def closed_form(self, params: Params, observations: Sequence[Observation]) -> float | None:
        """Exact log marginal likelihood of tempered observations (``None``: censored ones)."""

    @abstractmethod
    def bracket(self, params: Params, observations: Sequence[Observation]) -> tuple[float, float]:
        """An interval of ``u`` holding the prior bulk and every observation."""

    def shared_part(self, obs: Observation) -> tuple[Hashable, float] | None:
        """``(key, weight)`` when the item's log likelihood splits as ``shared + weight * unit``.

        ``shared`` depends on the item only through ``key`` (items with equal keys share
        it) and ``unit`` is :meth:`unit_log_lik`, common to all items; the exact engine
        then evaluates ``shared`` once per key (a ledger of thousands of logged events has a
        handful of distinct grades). ``None`` (the default): no such split.
        """
        return None

    def unit_log_lik(self, u: np.ndarray) -> np.ndarray:
        """The per-unit part of :meth:`shared_part` (only families that split define it)."""
        raise NotImplementedError(f"{self.name} items do not split")

    def features(self, obs: Observation) -> list[tuple[float, float]]:
        """Where in ``u`` an observation's likelihood changes fast: ``(centre, width)`` pairs.

        A large count's likelihood is a spike of width about ``1 / sqrt(count)`` and a bound's
        a cliff as steep; under the reliability mixture such a spike sits on a plateau and
        can lie far from the rest of the posterior. Grids refine around these places
        (:func:`toolkit.inference.quadrature.composite_grid`). The default: none.
        """
        return []

    def log_posterior_u(self, u: np.ndarray, params: Params,
                        observations: Sequence[Observation],
                        include: np.ndarray | None = None) -> np.ndarray:
        """Unnormalised log posterior of ``u``: prior plus tempered log likelihoods.

        Parameters
        ----------
        u : ndarray
            Points; with ``include``, shape ``(rows, points)``, one posterior per row.
        params : tuple
            Prior parameters (scalars, or ``(rows, 1)`` columns with ``include``).
        observations : sequence of Observation
            Observations, each entering as ``reliability * log_lik_u``.
        include : ndarray of bool, shape (rows, len(observations)), optional
            Which observations each row's posterior holds (the exact engine batches many
            posteriors with different evidence); all of them when omitted.
        """
        total = self.log_prior_u(u, params)
        for position, obs in enumerate(observations):
            if obs.weightless:
                continue
            if include is None:
                total = total + self.item_log_lik(u, obs, params)
                continue
            hit = include[:, position]
            if hit.any():
                total[hit] += self.item_log_lik(u[hit], obs, tuple(p[hit] for p in params))
        return np.where(np.isnan(total), -np.inf, total)

    def item_log_lik(self, u: np.ndarray, obs: Observation, params: Params,
                     event_u: np.ndarray | None = None) -> np.ndarray:
        """Log likelihood of one item with its reliability applied.

        ``event_u`` is the parameter at a logged event's own time when rates wander
        (``u`` is then the one averaged over the quiet time before it); other readings
        ignore it.

        Under the mixture reading (the default) the item is genuine with probability ``r``
        and otherwise carries no information about the scenario:
        ``log(r L(u) + (1 - r) ref)``, so one item's likelihood ratio between two scenarios
        is bounded by its grade whatever its size. Under the tempered reading it is
        ``r log L(u)``.
        """
        return mix_reliability(self.bound_log_lik(u, obs, params), obs)

    def bound_log_lik(self, u: np.ndarray, obs: Observation, params: Params,
                      **options: Any) -> np.ndarray:
        """:meth:`log_lik_u`, an anchored lower bound as the mixture of its two intervals.

        See :func:`toolkit.families.observation.anchored`; ``options`` go to
        :meth:`log_lik_u`.
        """
        if not obs.anchor:
            return self.log_lik_u(u, obs, params, **options)
        (w_near, near), (w_far, far) = anchor_parts(obs)
        with np.errstate(invalid="ignore"):
            return np.logaddexp(w_near + self.log_lik_u(u, near, params, **options),
                                w_far + self.log_lik_u(u, far, params, **options))

    # --- the PyMC engine's densities (NumPy or PyTensor ``ops``) ----------------------------

    @abstractmethod
    def log_prior_ops(self, ops: Any, u: Any, p1: Any, p2: Any) -> Any:
        """Log prior of ``u`` with the ops of :mod:`toolkit.inference.engines.pymc_densities`."""

    @abstractmethod
    def link_loglik(self, ops: Any, group: str, u: Any, c: dict[str, Any]) -> Any:
        """Untempered log likelihood of each link of ``group`` at ``u``."""

    @abstractmethod
    def link(self, obs: Observation, params: Params,
             phi: float) -> tuple[str | None, dict[str, float]]:
        """The link group (``None``: no information) and field values of an observation."""

    @abstractmethod
    def prior_moments(self, p1: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of ``u`` under each prior."""

    # --- posteriors and predictives -------------------------------------------------------

    @abstractmethod
    def conjugate(self, params: Params, observations: Sequence[Observation]) -> Params:
        """Posterior family parameters given exact, tempered observations."""

    @abstractmethod
    def u_from_natural(self, draws: np.ndarray) -> np.ndarray:
        """``u`` from draws of the natural parameter (PyMC's ``parameter_draws``)."""

    @abstractmethod
    def natural_from_u(self, u: np.ndarray) -> np.ndarray:
        """The natural parameter (rate, log amount, share) from ``u``."""

    def u_from_normal(self, z: np.ndarray, params: Params) -> np.ndarray:
        """Prior draws of ``u`` from standard Normal ``z``: the ``u`` whose prior CDF is ``Phi(z)``.

        The time-aware sampler works in whitened coordinates (every unknown a standard
        Normal), so its moves need no prior term beyond ``-z**2 / 2``. The prior's CDF is
        tabulated over its bulk (:meth:`bracket` with no observations: past the 1e-13
        quantiles) and inverted once onto a uniform grid of ``z``
        (:func:`toolkit.families.tables.quantile_from_normal`): a call interpolates
        linearly, with no search (this is in the sampler's every move).
        """
        return quantile_from_normal(self, z, params)

    def log_lik_table(self, obs: Observation, params: Params) -> CubicTable | None:
        """A table of :meth:`bound_log_lik` over ``u`` where it is costly (``None``: cheap)."""
        return None

    def sampler_log_lik(self, obs: Observation,
                        params: Params) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """:meth:`item_log_lik` of ``obs`` as ``f(u, event_u)``, from its table if it has one."""
        table = self.log_lik_table(obs, params)
        if table is None:
            return lambda u, event_u: self.item_log_lik(u, obs, params, event_u=event_u)
        return lambda u, event_u: mix_reliability(table(u), obs)

    @abstractmethod
    def sample_conjugate(self, conjugate: Params, size: int,
                         rng: np.random.Generator) -> np.ndarray:
        """Draws of the natural parameter from a closed-form posterior."""

    @abstractmethod
    def interval_probability(self, post: ParameterPosterior, low: float, high: float,
                             months: float, signals: int | None) -> float:
        """``P(low <= Y <= high)`` for a window total ``Y`` under one posterior."""

    @abstractmethod
    def cdf(self, post: ParameterPosterior, x: np.ndarray, months: float,
            signals: int | None) -> np.ndarray:
        """``P(Y <= x)`` of the window total for every ``x``."""

    @abstractmethod
    def watch_bins(self, posts: Sequence[ParameterPosterior], months: float,
                   signals: int) -> tuple[np.ndarray, np.ndarray, bool]:
        """Upper bin ends of the window total, per-posterior CDFs at them, whether exact."""

    @abstractmethod
    def simulate_total(self, natural: float, months: float, trials: int, params: Params,
                       rng: np.random.Generator) -> float:
        """Draw a window's total given the natural parameter (calibration by simulation).

        Parameters
        ----------
        natural : float
            The parameter on its natural scale (monthly rate, log monthly amount, share).
        months : float
            Window length in months.
        trials : int
            Signals in the window (``beta_bernoulli``); ignored otherwise.
        params : tuple
            Prior parameters (the reporting noise of ``normal_lognormal``).
        rng : numpy.random.Generator
            Random numbers.
        """

    # --- charts ---------------------------------------------------------------------------

    @abstractmethod
    def predicted_quantiles(self, params: Params, q: np.ndarray) -> np.ndarray:
        """Prior quantiles ``q`` of the charted quantity (monthly rate, amount, share)."""

    def observed_range(self, obs: Observation) -> tuple[float | None, float | None]:
        """An observation on the charted scale: ``(low, high)``, ``None`` for an open end.

        A logged event is charted as its events over the quiet watched time before it (at
        least a day).
        """
        if obs.reading != "total":
            rate = obs.low / max(obs.exposure, 1 / DAYS_PER_MONTH)
            return (rate, rate) if rate > 0 else (None, 1 / max(obs.exposure, 1e-9))
        low = obs.low / obs.exposure
        high = None if math.isinf(obs.high) else obs.high / obs.exposure
        if high is not None and high <= 0:  # none observed: below one per window
            return None, 1.0 / obs.exposure
        return (low if low > 0 else None), high

    def axis_label(self, indicator: Any) -> str:
        """The predictions chart's axis label for ``indicator``."""
        return f"{indicator.unit} per month (log scale)"
