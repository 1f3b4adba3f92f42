"""``scenarios new``: scaffold a case whose files validate and whose forecast runs."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from toolkit.core.atomic import write_text_atomic
from toolkit.core.errors import CaseError, Problem
from toolkit.model.case import CasePaths, load_case

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,62}$")

PRIORS_TEMPLATE = """\
# Priors for the case '{name}'. Format: docs/formats.md. Every field is explained below.
schema_version: 1
case: {name}                      # must equal the file name
title: {title}
question: Which scenario best describes the situation at the horizon?
horizon: {horizon}                # the date the scenarios refer to
start: {start}                  # the scenarios' rates apply from here; earlier periods are refused
weight_concentration: 10          # how firmly you hold the weights (higher = firmer)
# Reliability grades read as the chance a report is genuine (the default, 'mixture'): a
# poorly graded report can move the forecast only a little, whatever its size.
reliability_reading: mixture
# Indicators whose events you log as they happen, one row per event on its own day: the
# quiet time between logged events then counts too. Rows over longer periods stay totals.
watch:
  defense_commitment: since {start}
# How freely true rates may drift from the expectations below: 'wander: 2' means a rate may
# double or halve within a year (90%); 'walk: 1.3' lets it also stray month by month from
# that trend, by up to x1.3 within a year (90%). Leave them out for constant rates (faster).
# wander: 2
# walk: 1.3

# Mutually exclusive, exhaustive end states. Weights are relative (they need not sum to 1).
scenarios:
  - id: escalation
    label: Escalation
    weight: 0.3
    description: The relationship deepens into formal commitments.
  - id: status_quo
    label: Status quo
    weight: 0.5
    description: Cooperation continues case by case.
  - id: decline
    label: Decline
    weight: 0.2
    description: Cooperation fades.

# Indicators this case adds to the standard ones (drone_supply, financing, ...).
# kind: count | occurrence | amount | signal
indicators:
  - id: joint_statements
    label: Joint statements
    kind: count
    unit: statements
    description: Joint official statements by the two governments.

# For every indicator you use and every scenario: a 90% interval of what you expect,
# per day | week | month | quarter | year, with a one-line rationale.
expectations:
  joint_statements:
    escalation: {{low: 2, high: 8, per: month, rationale: Frequent coordination.}}
    status_quo: {{low: 0.5, high: 3, per: month, rationale: Occasional statements.}}
    decline:    {{low: 0.05, high: 1, per: month, rationale: Rare statements.}}
    # An expectation that changes over time: intervals at dates (a year means 1 July),
    # interpolated between them, e.g.
    # decline: {{path: [{{at: 2024, low: 0.2, high: 2}}, {{at: 2027, low: 0.02, high: 0.5}}],
    #           per: month, rationale: Statements fade as ties cool.}}
  defense_commitment:             # a standard 'occurrence' indicator: events per period
    escalation: {{low: 0.3, high: 3, per: year, rationale: Treaties become likely.}}
    status_quo: {{low: 0.02, high: 0.4, per: year, rationale: Formal steps are rare.}}
    decline:    {{low: 0.005, high: 0.1, per: year, rationale: Almost none.}}
"""

EVIDENCE_TEMPLATE = """\
id,reported_on,period_start,period_end,indicator,value,unit,source,reliability,status,echo_of,note
E01,{today},{month_start},{today},joint_statements,2,statements,S01,B2,active,,\
Example item: replace it with real evidence.
"""

SOURCE_TEMPLATE = """\
# One file per source document. Evidence cites claims by id. Summarise in your own words.
schema_version: 1
source:
  id: example-source
  title: Example source (replace me)
  publisher: Unknown
  date: "{year}"
  url: null
  notes: Describe where the document comes from and how sure you are of its date.
claims:
  - id: S01
    summary: The two governments issued two joint statements this month.
    figures: ["2 joint statements"]
"""


def scaffold_case(root: Path, name: str, today: dt.date | None = None) -> list[Path]:
    """Create the priors, evidence and source files of a new case.

    Parameters
    ----------
    root : Path
        Case root (created if missing).
    name : str
        New case slug: lowercase letters, digits and dashes.
    today : date, optional
        Date used in the example evidence (default: today).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    CaseError
        If the name is invalid or any of the files already exists (nothing is written).
    """
    today = today or dt.date.today()
    if not _NAME.match(name):
        raise CaseError([Problem(name, None, "CASE", "is not a valid case name",
                                 "use lowercase letters, digits and dashes, e.g. 'china-iran'")])
    paths = CasePaths(root, name)
    source = paths.seeds / "example-source.yaml"
    targets = {
        paths.priors: PRIORS_TEMPLATE.format(
            name=name, title=name.replace("-", " ").title(),
            horizon=dt.date(today.year + 1, 12, 31).isoformat(),
            start=dt.date(today.year - 3, 1, 1).isoformat()),
        paths.evidence: EVIDENCE_TEMPLATE.format(
            today=today.isoformat(), month_start=today.replace(day=1).isoformat()),
        source: SOURCE_TEMPLATE.format(year=today.year),
    }
    existing = [p for p in targets if p.exists()]
    if existing:
        raise CaseError([Problem(paths.shown(p), None, "", "already exists",
                                 "choose another case name or remove the file")
                         for p in existing])
    for path, text in targets.items():
        write_text_atomic(path, text)
    load_case(root, name)
    return list(targets)
