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

**The static model's reading of the evidence.** The increments are the exact engine's on
the time-aware model, so everything it reads the dynamic model reads too: rates that change
over time (``wander``, ``walk``, a ``path``), overlaps and echoes (left out by
:meth:`~toolkit.model.case.Case.select`), reports that may be false, and watched
indicators. A logged event's increment carries the quiet watched time before it, so it is
spread from the end of the previous event (or the watch's start) to the event's day; the
quiet time after the last event up to the as-of date is a row of its own
(:attr:`EvidenceMonths.quiet`). With the regime fixed the emissions then sum to the static
marginal, closing quiet time included.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from toolkit.families.observation import DAYS_PER_MONTH, Observation
from toolkit.inference.engines.exact import ExactEngine
from toolkit.model.case import Case
from toolkit.model.evidence import EvidenceItem
from toolkit.model.trajectory import EPOCH


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
        Per item: grid row -> share of the period it reads (a logged event: from the
        previous one) in that month.
    quiet : ndarray, shape (n_quiet, K)
        Each watched indicator's quiet time after its last logged event, up to the as-of
        date (no rows without an as-of date or watched indicators).
    quiet_shares : list of dict
        The same month shares for the quiet rows.
    """

    first_month: int
    items: list[EvidenceItem]
    increments: np.ndarray
    shares: list[dict[int, float]]
    quiet: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    quiet_shares: list[dict[int, float]] = field(default_factory=list)

    @property
    def last_row(self) -> int:
        """Grid row of the last month any item or quiet time covers (0 without evidence)."""
        return max((max(s) for s in (*self.shares, *self.quiet_shares)), default=0)

    def emissions(self, rows: int) -> np.ndarray:
        """The ``(rows, K)`` emission matrix ``E[m, k]`` (zero where nothing was observed)."""
        out = np.zeros((rows, self.increments.shape[1]))
        for increment, shares in zip([*self.increments, *self.quiet],
                                     [*self.shares, *self.quiet_shares], strict=True):
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
        """``log p(all evidence | regime k throughout)``: the static model's marginal."""
        quiet = self.quiet.sum(axis=0) if self.quiet.size else 0.0
        return self.increments.sum(axis=0) + quiet


def observed_span(obs: Observation) -> tuple[dt.date, dt.date]:
    """The first and last day an observation reads (a logged event: its quiet time first)."""
    start = EPOCH + dt.timedelta(days=round(obs.start * DAYS_PER_MONTH))
    end = EPOCH + dt.timedelta(days=round(obs.end * DAYS_PER_MONTH))
    return start, max(start, end - dt.timedelta(days=1))


def evidence_months(case: Case, items: list[EvidenceItem], as_of: dt.date | None = None,
                    first_month: int | None = None) -> EvidenceMonths:
    """Compute the collapsed per-item emissions and their month shares.

    Parameters
    ----------
    case : Case
        The case (priors give each regime's indicator priors).
    items : list of EvidenceItem
        Active items to use (any order).
    as_of : date, optional
        The forecast date: watched quiet time after the last logged events up to it is
        read (as by the static forecast). Without it only the items are read.
    first_month : int, optional
        Month index of grid row 0 (default: the first month any observation reads, or the
        as-of month if earlier); no observation may start before it.

    Returns
    -------
    EvidenceMonths
        The items in period order with their emissions.
    """
    ordered = sorted(items, key=lambda i: (i.period_end, i.period_start, i.reported_on, i.id))
    observations = case.observations(ordered, as_of)
    size = len(case.priors.scenario_ids)
    if observations:
        result = ExactEngine().run(case, observations)
        increments, quiet = result.increments, result.extras["quiet_increments"]
    else:
        increments, quiet = np.zeros((0, size)), np.zeros((0, size))
    spans = [observed_span(o) for o in observations]
    first = min([month_index(start) for start, _ in spans]
                + ([month_index(as_of)] if as_of is not None else []), default=0) \
        if first_month is None else first_month
    shares = [{month - first: share for month, share in month_shares(*span).items()}
              for span in spans]
    if any(min(s) < 0 for s in shares):
        raise ValueError("an observation starts before the first month of the grid")
    return EvidenceMonths(first, ordered, increments, shares[:len(ordered)], quiet,
                          shares[len(ordered):])
