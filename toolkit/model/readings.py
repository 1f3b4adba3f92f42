"""How evidence items are read: totals over periods, logged events, quiet watched time.

An item is a **total** over its period (bounds on the count, amount or share), unless its
indicator is watched (:mod:`toolkit.model.watch`) and the item covers one watched day with
an exact count (``yes`` counts as one event): then it is a **logged event** of one point
process, carrying the watched time since the indicator's previous logged event. The watched
time after the last logged event, up to the forecast date, is a **quiet** observation with
no item. Reliability is read as a mixture (the default) or tempered, as the priors file says;
under the mixture a lower bound on a total is read as anchored near the truth
(:func:`toolkit.families.observation.anchored`), under the tempered reading literally.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import TYPE_CHECKING

from toolkit.families.observation import Observation, anchored
from toolkit.model.evidence import EvidenceItem, parse_value, to_observation
from toolkit.model.trajectory import months_since_epoch
from toolkit.model.watch import covers, watched_months

if TYPE_CHECKING:
    from toolkit.model.case import Case


def is_logged_event(case: Case, item: EvidenceItem) -> bool:
    """Whether ``item`` is a logged event: one day of a watched indicator, exact count."""
    spans = case.watch_spans.get(item.indicator)
    if not spans or item.period_start != item.period_end:
        return False
    parsed = parse_value(item.value, case.indicators[item.indicator].kind)
    return covers(spans, item.period_start) and (
        parsed.low == parsed.high or (parsed.low == 1 and math.isinf(parsed.high)))


def read_observations(case: Case, items: list[EvidenceItem],
                      as_of: dt.date | None = None) -> list[Observation]:
    """Engine-ready observations of ``items``, then the quiet time of watched indicators.

    Parameters
    ----------
    case : Case
        The case (its watched spans and reliability reading).
    items : list of EvidenceItem
        Items in report order; the first ``len(items)`` observations are theirs.
    as_of : date, optional
        The forecast date: each watched indicator's watched time after its last logged
        event up to this date is appended as a ``quiet`` observation (no item). Without
        it only the items are read.

    Returns
    -------
    list of Observation
        One per item, in order, followed by the quiet observations.
    """
    mixture = case.priors.reliability_reading == "mixture"
    last_event: dict[str, dt.date | None] = dict.fromkeys(case.watch_spans)
    out = []
    for item in items:
        obs = to_observation(item, case.indicators[item.indicator])
        start, end = item.period_start, item.period_end
        if is_logged_event(case, item):
            spans, day = case.watch_spans[item.indicator], item.period_start
            before = last_event[item.indicator]
            quiet = 0.0 if before is not None and day <= before else \
                watched_months(spans, before, day)
            start = spans[0].start if before is None else min(before + _DAY, day)
            last_event[item.indicator] = day if before is None else max(before, day)
            obs = dataclasses.replace(obs, reading="events", exposure=quiet,
                                      low=obs.low, high=obs.low)
        elif mixture and not parse_value(item.value, case.indicators[item.indicator].kind).word:
            obs = anchored(obs, case.indicators[item.indicator].family.whole_totals,
                           case.priors.bounds.within, case.priors.bounds.chance)
        out.append(dataclasses.replace(obs, mixture=mixture, start=months_since_epoch(start),
                                       end=months_since_epoch(end + _DAY)))
    if as_of is not None:
        for indicator, spans in case.watch_spans.items():
            before = last_event[indicator]
            quiet = watched_months(spans, before, as_of)
            if quiet > 0:
                first = spans[0].start if before is None else before + _DAY
                out.append(Observation("", indicator, quiet, 0.0, 0.0, 1.0, reading="quiet",
                                       start=months_since_epoch(first),
                                       end=months_since_epoch(as_of + _DAY)))
    return out


_DAY = dt.timedelta(days=1)


def overlaps(case: Case, items: list[EvidenceItem]) -> tuple[dict[str, str], list[tuple]]:
    """Totals of one indicator whose periods overlap.

    A sub-period total inside another item's period (both totals, the inner one no more
    reliable) is read jointly with it: under a constant rate a count inside a reported total
    adds nothing beyond the total, so the inner item is left out. Periods that cross
    (overlap without nesting) cannot be combined; they are returned for a warning.

    Returns
    -------
    tuple
        ``(nested, crossing)``: inner item id -> the id of the total it lies in; and the
        crossing pairs ``(first, second)`` of items.
    """
    totals = [i for i in items if not is_logged_event(case, i)]
    nested: dict[str, str] = {}
    crossing = []
    for a_index, a in enumerate(totals):
        for b in totals[a_index + 1:]:
            if a.indicator != b.indicator or a.period_end < b.period_start \
                    or b.period_end < a.period_start:
                continue
            # the longer period holds the other; equal periods: the more reliable, then the
            # lower id (so the reading never depends on report order)
            outer, inner = sorted((a, b), key=lambda i: (-i.days, -i.reliability, i.id))
            inside = outer.period_start <= inner.period_start \
                and inner.period_end <= outer.period_end
            if inside and inner.reliability <= outer.reliability:
                nested.setdefault(inner.id, outer.id)
            else:
                crossing.append((a, b))
    return nested, [(a, b) for a, b in crossing if a.id not in nested and b.id not in nested]
