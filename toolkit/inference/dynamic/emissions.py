"""Evidence on the monthly grid: how strongly each month's evidence favours each regime.

The dynamic model needs, for every month ``m`` and regime ``k``, a log-likelihood
``E[m, k] = log p(evidence of month m | regime k in month m)``. Two tractable choices,
both documented here, make that matrix:

**Indicator parameters integrated out (collapsed emissions).** Each indicator has one
parameter per regime (a Gamma-distributed monthly rate for counts and occurrences, a Normal
log monthly amount, a Beta share), shared across months, exactly as in the static model.
Sampling those 3 x 11 parameters next to the transition matrix gives a multimodal posterior
(a regime that explains an item pins its parameter; one that does not leaves it at the
prior), the same trap the notes measured for the static mixture. Instead they are
integrated out: item ``i``'s emission under regime ``k`` is the exact engine's
``log p(item_i | earlier items of its indicator, regime k)`` (closed form where conjugate,
quadrature for ranges and bounds, reliability as a tempering power), items taken in order of
their periods. The approximation: the earlier items update regime ``k``'s parameter as if
regime ``k`` had produced them, whichever regime the chain was in then. With transitions
switched off it is exact, so the dynamic model then reproduces the static one.

**Items spread over the months they cover (tempered split).** An item whose period spans
several months is evidence about several hidden states. Its log-likelihood under regime
``k`` is shared among the months it covers in proportion to the days it covers in each
(``E[m, k] += share_m x increment_k``): along a path of regimes the item counts as the
exposure-weighted geometric mean of its likelihoods under the regimes visited, and in full
when the regime stays the same throughout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from toolkit.inference.engines.exact import ExactEngine
from toolkit.model.case import Case
from toolkit.model.evidence import EvidenceItem


def month_index(day: dt.date) -> int:
    """Months since year 0 (``2022-10-19 -> 2022 * 12 + 9``)."""
    return day.year * 12 + day.month - 1


def month_label(index: int) -> str:
    """``YYYY-MM`` of a month index."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_start(index: int) -> dt.date:
    """First day of a month index."""
    return dt.date(index // 12, index % 12 + 1, 1)


def month_shares(start: dt.date, end: dt.date) -> dict[int, float]:
    """Share of the days of ``[start, end]`` (inclusive) falling in each month.

    Parameters
    ----------
    start, end : date
        The period, ``end >= start``.

    Returns
    -------
    dict
        Month index -> share; the shares sum to 1.
    """
    total = (end - start).days + 1
    shares: dict[int, float] = {}
    for index in range(month_index(start), month_index(end) + 1):
        lo = max(start, month_start(index))
        hi = min(end, month_start(index + 1) - dt.timedelta(days=1))
        shares[index] = ((hi - lo).days + 1) / total
    return shares


@dataclass(frozen=True)
class EvidenceMonths:
    """Evidence laid out on the monthly grid.

    Parameters
    ----------
    first_month : int
        Month index of grid row 0.
    items : list of EvidenceItem
        The items in period order (end, then start, then report date).
    increments : ndarray, shape (n_items, K)
        Each item's collapsed log-likelihood under each regime (see the module docstring).
    shares : list of dict
        Per item: grid row -> share of the item's period in that month.
    """

    first_month: int
    items: list[EvidenceItem]
    increments: np.ndarray
    shares: list[dict[int, float]]

    @property
    def last_row(self) -> int:
        """Grid row of the last month any item covers (0 without evidence)."""
        return max((max(s) for s in self.shares), default=0)

    def emissions(self, rows: int) -> np.ndarray:
        """The ``(rows, K)`` emission matrix ``E[m, k]`` (zero where nothing was observed)."""
        out = np.zeros((rows, self.increments.shape[1]))
        for increment, shares in zip(self.increments, self.shares, strict=True):
            for row, share in shares.items():
                if row < rows:
                    out[row] += share * increment
        return out

    def items_by_row(self, rows: int) -> list[list[str]]:
        """Ids of the items covering each grid row."""
        out: list[list[str]] = [[] for _ in range(rows)]
        for item, shares in zip(self.items, self.shares, strict=True):
            for row in shares:
                if row < rows:
                    out[row].append(item.id)
        return out

    @property
    def log_marginal(self) -> np.ndarray:
        """``log p(all items | regime k throughout)``: the static model's marginal."""
        return self.increments.sum(axis=0)


def evidence_months(case: Case, items: list[EvidenceItem], first_month: int) -> EvidenceMonths:
    """Compute the collapsed per-item emissions and their month shares.

    Parameters
    ----------
    case : Case
        The case (priors give each regime's indicator priors).
    items : list of EvidenceItem
        Active items to use (any order).
    first_month : int
        Month index of grid row 0 (no item may start before it).

    Returns
    -------
    EvidenceMonths
        The items in period order with their emissions.
    """
    ordered = sorted(items, key=lambda i: (i.period_end, i.period_start, i.reported_on, i.id))
    observations = case.observations(ordered)
    size = len(case.priors.scenario_ids)
    if ordered:
        increments = ExactEngine().run(case, observations).increments
    else:
        increments = np.zeros((0, size))
    shares = [
        {month - first_month: share
         for month, share in month_shares(item.period_start, item.period_end).items()}
        for item in ordered
    ]
    if any(min(s) < 0 for s in shares):
        raise ValueError("an item starts before the first month of the grid")
    return EvidenceMonths(first_month, ordered, increments, shares)
