"""Engine-ready observations: evidence items reduced to numbers both engines read."""

from __future__ import annotations

import math
from dataclasses import dataclass

DAYS_PER_MONTH = 365.25 / 12

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
