"""Which assumptions drive the forecast: one-at-a-time sensitivity of the headline.

The headline is the probability of the leading scenario. Each prior quantity
(:func:`toolkit.model.variations.quantities`: scenario weights, expectation bounds, path
points, ``wander`` and ``walk``) is moved across its plausible range, halved and doubled
(:data:`toolkit.model.variations.SPAN`), with everything else as saved. The swing is how far
the headline moves across that range. The tipping point is the value, nearest to the saved
one and within ``SEARCH`` times the range on either side, at which another scenario takes
the lead: found on a grid of moves and refined by bisection to ``TOLERANCE`` in the log of
the move. Every forecast is a :class:`toolkit.outputs.variants.Variants` forecast, exact by
default.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.core.errors import CaseError
from toolkit.model.case import Case
from toolkit.model.evidence import EvidenceItem
from toolkit.model.variations import SPAN, Quantity, quantities
from toolkit.outputs.variants import Variants

#: The tipping point is searched up to ``SPAN ** SEARCH`` times (and 1/that) the saved value.
SEARCH = 3.5
#: Grid steps per side of the tipping-point search, then bisection to this log-move accuracy.
STEPS = 7
TOLERANCE = 1e-3


@dataclass(frozen=True)
class Influence:
    """How one quantity moves the forecast.

    Parameters
    ----------
    quantity : Quantity
        The quantity and the range tried.
    at_low, at_high : ndarray
        Scenario probabilities with the quantity at the range's low and high ends.
    tipping : float or None
        The value nearest to the saved one at which the lead changes (``None``: not within
        the search).
    tipping_to : str or None
        The scenario that takes the lead there.
    lead : int
        Index of the leading scenario (of the saved priors).
    """

    quantity: Quantity
    at_low: np.ndarray
    at_high: np.ndarray
    tipping: float | None
    tipping_to: str | None
    lead: int

    @property
    def swing(self) -> float:
        """How far the headline probability moves across the range."""
        return abs(float(self.at_high[self.lead] - self.at_low[self.lead]))


@dataclass
class Sensitivity:
    """Every quantity's influence on the headline, most influential first."""

    case: str
    as_of: dt.date
    engine: str
    scenario_ids: list[str]
    labels: list[str]
    probabilities: np.ndarray
    influences: list[Influence]
    seconds: float
    forecasts: int

    @property
    def lead(self) -> int:
        """Index of the leading scenario."""
        return int(np.argmax(self.probabilities))

    def top(self, count: int = 10) -> list[Influence]:
        """The ``count`` most influential quantities."""
        return self.influences[:count]

    def table(self) -> pd.DataFrame:
        """One row per quantity: range, headline at each end, swing and tipping point."""
        lead = self.scenario_ids[self.lead]
        return pd.DataFrame([{
            "input": i.quantity.path, "label": i.quantity.label, "role": i.quantity.role,
            "value": i.quantity.value, "low": i.quantity.low, "high": i.quantity.high,
            f"{lead}_at_low": float(i.at_low[self.lead]),
            f"{lead}_at_high": float(i.at_high[self.lead]),
            "swing": i.swing, "tipping_point": i.tipping, "tipping_to": i.tipping_to,
        } for i in self.influences])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (non-finite numbers are left to :mod:`toolkit.core.jsonio`)."""
        return {
            "case": self.case, "as_of": self.as_of.isoformat(), "engine": self.engine,
            "headline": {"scenario": self.scenario_ids[self.lead],
                         "label": self.labels[self.lead],
                         "probability": float(self.probabilities[self.lead])},
            "method": (f"one at a time: each quantity halved and doubled (factors on a "
                       f"wander/walk's log), the rest as saved; tipping points searched up to "
                       f"{SPAN ** SEARCH:.1f} times either way"),
            "inputs": [{
                "input": i.quantity.path, "label": i.quantity.label, "role": i.quantity.role,
                "value": i.quantity.value, "range": [i.quantity.low, i.quantity.high],
                "headline_range": [float(i.at_low[self.lead]), float(i.at_high[self.lead])],
                "swing": i.swing,
                "at_low": dict(zip(self.scenario_ids, map(float, i.at_low), strict=True)),
                "at_high": dict(zip(self.scenario_ids, map(float, i.at_high), strict=True)),
                "tipping_point": i.tipping, "tipping_to": i.tipping_to,
            } for i in self.influences],
            "seconds": self.seconds, "forecasts": self.forecasts,
        }


def sensitivity(case: Case, as_of: dt.date | None = None, engine: str = "exact",
                seed: int | None = None,
                progress: Callable[[int, int], None] | None = None,
                items: list[EvidenceItem] | None = None,
                **engine_options: Any) -> Sensitivity:
    """Move every prior quantity across its plausible range and find its tipping point.

    Parameters
    ----------
    case : Case
        The case.
    as_of : date, optional
        Evidence reported on or before this date counts (default: today).
    engine : {"exact", "pymc"}
        The engine of every forecast.
    seed : int, optional
        Seed of the PyMC engine.
    progress : callable, optional
        Called with (quantities done, quantities in all) after each quantity.
    items : list of EvidenceItem, optional
        The evidence to read (default: what the case counts at ``as_of``).
    **engine_options
        Passed to the PyMC engine.

    Returns
    -------
    Sensitivity
        Influences sorted by swing, largest first (ties in priors-file order).
    """
    start = time.perf_counter()
    variants = Variants(case, as_of, engine, seed, items, **engine_options)
    lead = int(np.argmax(variants.base))
    todo = quantities(case)
    found = []
    evaluations = 1
    for done, quantity in enumerate(todo, start=1):
        at_low = variants.probabilities({quantity.path: quantity.low})
        at_high = variants.probabilities({quantity.path: quantity.high})
        tipping, to, count = _tipping_point(variants, case, quantity, lead)
        evaluations += 2 + count
        found.append(Influence(quantity, at_low, at_high, tipping,
                               None if to is None else case.priors.scenario_ids[to], lead))
        if progress is not None:
            progress(done, len(todo))
    found.sort(key=lambda i: -i.swing)
    return Sensitivity(case.name, variants.as_of, engine, case.priors.scenario_ids,
                       [s.label for s in case.priors.scenarios], variants.base, found,
                       time.perf_counter() - start, evaluations)


def _tipping_point(variants: Variants, case: Case, quantity: Quantity,
                   lead: int) -> tuple[float | None, int | None, int]:
    """The value nearest to the saved one at which the lead changes, its new leader, cost."""
    count = 0

    def leader(log_move: float) -> int | None:
        nonlocal count
        count += 1
        value = quantity.moved(SPAN ** log_move, case)
        try:
            return int(np.argmax(variants.probabilities({quantity.path: value})))
        except CaseError:  # a move the priors file would refuse ends the search that way
            return None

    best: tuple[float, float, int] | None = None
    for side in (1.0, -1.0):
        previous = 0.0
        for step in range(1, STEPS + 1):
            move = side * SEARCH * step / STEPS
            now = leader(move)
            if now is None:
                break
            if now != lead:
                inside, outside = previous, move
                while abs(outside - inside) > TOLERANCE:
                    middle = 0.5 * (inside + outside)
                    if leader(middle) == lead:
                        inside = middle
                    else:
                        outside = middle
                if best is None or abs(outside) < abs(best[0]):
                    taker = leader(outside)
                    best = (outside, quantity.moved(SPAN ** outside, case),
                            now if taker is None else taker)
                break
            previous = move
    if best is None:
        return None, None, count
    return best[1], best[2], count

