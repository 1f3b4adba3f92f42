"""Engine-ready observations: evidence items reduced to numbers both engines read."""

from __future__ import annotations

from dataclasses import dataclass

DAYS_PER_MONTH = 365.25 / 12


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
    """

    item_id: str
    indicator: str
    exposure: float
    low: float
    high: float
    reliability: float
    trials: int = 1

    @property
    def is_point(self) -> bool:
        """Whether the value is exact (not a range or bound)."""
        return self.low == self.high

    @property
    def is_censored(self) -> bool:
        """Whether the value is a range or a bound."""
        return not self.is_point
