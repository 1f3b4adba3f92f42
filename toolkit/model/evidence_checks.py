"""Cross-file checks of evidence rows: indicators, values, units, periods, echoes, sources.

:func:`check_evidence` is run by :func:`toolkit.model.case.load_case` (and so before every
ledger write); every problem is reported at once with its row, field and fix.
"""

from __future__ import annotations

import datetime as dt

from toolkit.core.errors import Problem
from toolkit.model.evidence import EvidenceItem, parse_value, to_observation, unit_factor
from toolkit.model.indicators import Indicator
from toolkit.model.priors import Priors


def _window_problems(item: EvidenceItem, priors: Priors, shown: str) -> list[Problem]:
    """An item's period against its report date and the case's window (start, horizon)."""
    out = []
    if item.reported_on > dt.date.today():
        out.append(Problem(shown, item.line, "reported_on", f"{item.reported_on} is after "
                           f"today ({dt.date.today()}): a report cannot appear in the future",
                           "give the date the report appeared"))
    if item.period_end > item.reported_on:
        out.append(Problem(shown, item.line, "period_end", f"{item.period_end} is after the "
                           f"report date {item.reported_on}: a report cannot count what has "
                           "not happened yet", "end the period on or before reported_on"))
    if item.period_end > priors.horizon:
        out.append(Problem(shown, item.line, "period_end", f"{item.period_end} is after the "
                           f"case's horizon {priors.horizon}", "end the period by the horizon"))
    if priors.start is not None and item.period_start < priors.start:
        out.append(Problem(shown, item.line, "period_start", f"{item.period_start} is before "
                           f"the case's start {priors.start} (the scenarios' rates apply from "
                           "then)", "start the period on or after the case's start, or move "
                           "'start' in the priors file"))
    return out


def check_evidence(
    items: list[EvidenceItem],
    priors: Priors | None,
    indicators: dict[str, Indicator],
    claims: set[str],
    shown: str,
    check_sources: bool = True,
) -> list[Problem]:
    """Cross-check evidence rows against the priors, indicators and source claims.

    Parameters
    ----------
    items : list of EvidenceItem
        Parsed rows.
    priors : Priors or None
        The case's priors; ``None`` when they failed to load (indicator checks are skipped).
    indicators : dict
        Standard plus case indicators.
    claims : set of str
        Known source claim ids.
    shown : str
        How the evidence file is named in messages.
    check_sources : bool
        Whether ``claims`` is complete (skip the check when the seeds failed to load).

    Returns
    -------
    list of Problem
        Every problem found.
    """
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    by_id = {item.id: item for item in reversed(items)}
    for item in items:
        def bad(column: str, message: str, fix: str, line: int = item.line) -> None:
            problems.append(Problem(shown, line, column, message, fix))

        if item.id in seen:
            bad("id", f"duplicate evidence id {item.id!r} (first on line {seen[item.id]})",
                "give the item a new id; to withdraw an item, retract it instead")
        seen.setdefault(item.id, item.line)
        indicator = indicators.get(item.indicator)
        if priors is None:
            pass
        elif indicator is None or item.indicator not in priors.expectations:
            known = ", ".join(priors.expectations)
            bad("indicator", f"unknown indicator {item.indicator!r}", f"use one of: {known}")
        else:
            readable = True
            try:
                parse_value(item.value, indicator.kind)
            except ValueError as exc:
                readable = False
                article = "an" if indicator.kind[0] in "aeiou" else "a"  # an amount, an occurrence
                bad("value", str(exc),
                    f"write {article} {indicator.kind} value (see docs/formats.md)")
            try:
                unit_factor(item.unit, indicator, item.days)
            except ValueError as exc:
                readable = False
                bad("unit", str(exc), f"use '{indicator.unit}'")
            if readable:
                try:
                    to_observation(item, indicator)
                except ValueError as exc:
                    bad("value", str(exc), "restate the value for this period and unit")
            problems.extend(_window_problems(item, priors, shown))
        if item.echo_of:
            original = by_id.get(item.echo_of)
            if original is None or original is item:
                bad("echo_of", f"names {item.echo_of!r}, which is not another item of the "
                    "ledger", "give the id of the item this row re-reports, or leave it empty")
            elif original.indicator != item.indicator:
                bad("echo_of", f"names {item.echo_of!r}, an item of {original.indicator}, not "
                    f"{item.indicator}", "an echo re-reports an item of the same indicator")
        if check_sources and item.source not in claims:
            bad("source", f"cites unknown source claim {item.source!r}",
                "cite a claim id from the case's seeds/ folder or add the claim there")
    return problems
