"""Engine-ready observations: evidence items reduced to numbers both engines read."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

DAYS_PER_MONTH = 365.25 / 12

#: An anchored lower bound (:func:`anchored`), by default: with this chance the total is within
#: :data:`ANCHOR_FACTOR` times the bound, otherwise anywhere up to :data:`ANCHOR_REACH` times
#: (the priors file's ``bounds: {within, chance}`` may change the first two).
ANCHOR_CHANCE = 0.5
ANCHOR_FACTOR = 3.0
ANCHOR_REACH = 1e4

#: How an observation is read: a total over its period (``low <= total <= high``), the
#: logged events of a watched indicator with the quiet watched time before them, or watched
#: time with no logged event at all (the quiet time up to the forecast date).
READINGS = ("total", "events", "quiet")


@dataclass(frozen=True)
class Observation:
    """One active evidence item, in the units the likelihood needs.

    Parameters
    ----------
    item_id : str
        Evidence id.
    indicator : str
        Indicator id.
    exposure : float
        Length of the observed period in months (1 for ``signal``).
    low, high : float
        Bounds on the total over the period, inclusive. ``low == high`` is an exact
        observation; ``high = inf`` is an open upper bound ("at least ``low``").
        For ``signal`` both equal the number of positive signals.
    reliability : float
        Tempering weight in [0, 1].
    trials : int
        For ``signal``: the number of signals; 1 otherwise.
    reading : {"total", "events", "quiet"}
        ``total``: bounds on the total over the period. ``events``: ``low`` events logged at
        the end of ``exposure`` months of watched time in which nothing else was logged.
        ``quiet``: ``exposure`` months of watched time with nothing logged (no item).
    mixture : bool
        Reliability read as the chance the report is genuine (otherwise it carries no
        information about the scenario); ``False``: the tempered rule (likelihood ** r).
    log_ref : float
        Under the mixture, the log likelihood of the item if it is not genuine: its prior
        predictive probability averaged over the scenarios (for ``events``, the log of the
        scenarios' average prior rate per month). NaN until an engine sets it.
    start, end : float
        The period in months since 2000-01-01 (``end`` after its last day); for ``events``
        the quiet watched time before the event and the event's day. Read when rates may
        wander (:mod:`toolkit.model.trajectory`); NaN when unknown.
    scatter : float
        Variance of the log of a factor on the rate over the period, from a rate's random
        walk (:meth:`toolkit.model.trajectory.Drift.scatter`); 0 without one. Totals read
        it (counts as negative binomial, amounts as added log variance).
    anchor : tuple of float
        For a lower bound read as anchored (:func:`anchored`): the high ends of its near
        and far parts and their log weights; empty otherwise.
    """

    item_id: str
    indicator: str
    exposure: float
    low: float
    high: float
    reliability: float
    trials: int = 1
    reading: str = "total"
    mixture: bool = False
    log_ref: float = math.nan
    start: float = math.nan
    end: float = math.nan
    scatter: float = 0.0
    anchor: tuple[float, ...] = ()

    @property
    def ends(self) -> tuple[float, ...]:
        """Every finite end of the total's interval(s): where its likelihood has cliffs."""
        return tuple(b for b in (self.low, self.high, *self.anchor[:2]) if math.isfinite(b))

    @property
    def weightless(self) -> bool:
        """Whether the item changes nothing: reliability 0 on a total.

        A logged event's quiet time counts whatever the event's grade (mixture reading).
        """
        return self.reliability <= 0 and self.reading == "total"

    @property
    def synthetic(self) -> bool:
        """Whether this is watched quiet time rather than an evidence item."""
        return self.reading == "quiet"

    @property
    def is_point(self) -> bool:
        """Whether the value is exact (not a range or bound)."""
        return self.low == self.high

    @property
    def is_censored(self) -> bool:
        """Whether the value is a range or a bound."""
        return not self.is_point

    @property
    def conjugate(self) -> bool:
        """Whether the item keeps a conjugate update: exact, and tempered or fully reliable."""
        return self.is_point and not self.mixed and self.scatter <= 0

    @property
    def mixed(self) -> bool:
        """Whether the mixture reading applies with a real chance the report is not genuine.

        A logged event of reliability 0 is mixed too: it still brings its quiet time.
        """
        return self.mixture and self.reliability < 1.0 and not self.synthetic and (
            self.reliability > 0.0 or self.reading == "events")


def anchored(obs: Observation, whole: bool, factor: float = ANCHOR_FACTOR,
             chance: float = ANCHOR_CHANCE) -> Observation:
    """A lower bound on a total read as a figure anchored near the truth.

    Read literally, "at least ``x``" has likelihood close to 1 under every rate that makes
    totals above ``x`` likely, so it always favours the highest scenario, however far above
    ``x`` its totals lie; reports quote a bound near the real figure. The bound is read as
    ``x = total * f``, ``f`` log-uniform on ``[1 / factor, 1]`` with probability ``chance``,
    else on ``[1 / ANCHOR_REACH, 1]``. The likelihood of the bound is then exactly a
    mixture of two intervals (:func:`anchor_parts`),
    ``chance P(x <= total <= factor x) / log factor
    + (1 - chance) P(x <= total <= ANCHOR_REACH x) / log ANCHOR_REACH``.
    Other observations are returned unchanged.

    Parameters
    ----------
    obs : Observation
        An observation as read from its value.
    whole : bool
        Whole-number totals: the parts' high ends are rounded down.
    factor, chance : float
        The priors file's ``bounds: {within, chance}``.
    """
    if obs.reading != "total" or math.isfinite(obs.high) or obs.low <= 0:
        return obs
    ends = [obs.low * factor, obs.low * ANCHOR_REACH]
    if whole:
        ends = [float(math.floor(e)) for e in ends]
    with np.errstate(divide="ignore"):
        weights = np.log([chance / math.log(factor), (1.0 - chance) / math.log(ANCHOR_REACH)])
    return dataclasses.replace(obs, anchor=(*ends, *map(float, weights)))


def anchor_parts(obs: Observation) -> tuple[tuple[float, Observation], ...]:
    """``(log weight, interval)`` of each part of an anchored bound (see :func:`anchored`)."""
    near, far, log_near, log_far = obs.anchor
    return ((log_near, dataclasses.replace(obs, high=near, anchor=())),
            (log_far, dataclasses.replace(obs, high=far, anchor=())))
