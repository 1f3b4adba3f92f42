"""A case: one forecasting problem's priors, evidence and sources, loaded and cross-checked.

:func:`load_case` reads every file, reports every problem at once (file, line, field, fix)
and returns a fully validated :class:`Case`, or raises :class:`~toolkit.core.errors.CaseError`
having loaded nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.core.errors import CaseError, Problem, display_path
from toolkit.core.validation import pydantic_problems
from toolkit.core.yamlio import check_schema_version, line_of, load_yaml, parse_yaml, to_plain
from toolkit.families import PER_MONTHS
from toolkit.families.observation import Observation
from toolkit.model.dynamics import check_dynamics
from toolkit.model.evidence import (
    EvidenceItem,
    parse_rows,
    read_evidence,
)
from toolkit.model.evidence_checks import check_evidence
from toolkit.model.indicators import STANDARD_INDICATORS, Indicator
from toolkit.model.priors import Expectation, Priors
from toolkit.model.readings import is_logged_event, overlaps, read_observations
from toolkit.model.sources import Claim, SourceDigest, load_sources
from toolkit.model.trajectory import Drift, at_reference, expectation_drift, reference_month
from toolkit.model.watch import SPAN_HELP, Span, parse_spans


def find_root(start: Path | None = None) -> Path:
    """Return the nearest folder upward from ``start`` that holds ``priors/``.

    Raises
    ------
    CaseError
        If there is none.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "priors").is_dir():
            return folder
    raise CaseError([Problem(str(here), None, "", "no folder holding priors/ here or above",
                             "run from inside a case root or pass --root DIR")])


def list_cases(root: Path) -> list[str]:
    """Names of the cases under ``root`` (one per ``priors/<case>.yaml``)."""
    return sorted(p.stem for p in (root / "priors").glob("*.yaml"))


@dataclass(frozen=True)
class CasePaths:
    """Where a case's files live."""

    root: Path
    name: str

    @property
    def priors(self) -> Path:
        """``priors/<case>.yaml``."""
        return self.root / "priors" / f"{self.name}.yaml"

    @property
    def evidence(self) -> Path:
        """``evidence/<case>.csv``."""
        return self.root / "evidence" / f"{self.name}.csv"

    @property
    def seeds(self) -> Path:
        """``seeds/<case>/``."""
        return self.root / "seeds" / self.name

    @property
    def questions(self) -> Path:
        """``questions/<case>.yaml``."""
        return self.root / "questions" / f"{self.name}.yaml"

    def shown(self, path: Path) -> str:
        """How ``path`` is named in messages."""
        return display_path(path, self.root)


@dataclass(frozen=True)
class Case:
    """A validated case."""

    paths: CasePaths
    priors: Priors
    indicators: dict[str, Indicator]
    evidence: list[EvidenceItem]
    sources: list[SourceDigest]
    input_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The case slug."""
        return self.paths.name

    @cached_property
    def claims(self) -> dict[str, Claim]:
        """Every claim of every source, by id."""
        return {c.id: c for s in self.sources for c in s.claims}

    @cached_property
    def used_indicators(self) -> list[str]:
        """Indicators with expectations, in priors-file order."""
        return list(self.priors.expectations)

    def prior_params(self, indicator: str, scenario: str) -> tuple[float, ...]:
        """Family parameters of ``indicator`` under ``scenario`` (each computed when asked)."""
        key = (indicator, scenario)
        if key not in self._prior_table:
            t0 = reference_month(self.priors.start, self.priors.horizon)
            self._prior_table[key] = prior_params(self.indicators[indicator],
                                                  self.priors.expectations[indicator][scenario], t0)
        return self._prior_table[key]

    def drift(self, indicator: str, scenario: str) -> Drift | None:
        """How freely the rate of ``indicator`` wanders under ``scenario`` (``None``: not)."""
        return expectation_drift(self.priors, self.priors.expectations[indicator][scenario],
                                 self.indicators[indicator].family.takes_rates)

    @cached_property
    def changing_indicators(self) -> list[str]:
        """Indicators whose rate changes over time (``wander``, ``walk``, ``path``), in order."""
        ids = self.priors.scenario_ids
        return [i for i in self.used_indicators if any(self.drift(i, k) for k in ids)]

    @cached_property
    def _prior_table(self) -> dict[tuple[str, str], tuple[float, ...]]:
        return {}  # filled by prior_params: a variant's reruns convert only what they read

    def select(self, as_of: dt.date | None = None,
               nest: bool = True) -> tuple[list[EvidenceItem], dict[str, list]]:
        """Items that count at ``as_of`` in report order, and the ids left out and why.

        Left out: retracted items, items reported after ``as_of``, echoes - a row whose
        ``echo_of`` names a counted item, or the same claim (indicator, source, period,
        value, unit) as another row (a re-report counts once: its best-graded copy, the
        first reported among equals) - and sub-period
        totals inside a counted total of the same indicator (``nested``; see
        :func:`toolkit.model.readings.overlaps`). ``overlapping`` lists crossing periods
        the model cannot combine, as ``"A+B"``; both still count. ``nest=False`` keeps the
        nested items (the dashboard applies the rule after its what-if edits).
        """
        used, retracted, later, echoes = [], [], [], []
        for item in sorted(self.evidence, key=lambda i: (i.reported_on, i.line)):
            if not item.active:
                retracted.append(item.id)
            elif as_of is not None and item.reported_on > as_of:
                later.append(item.id)
            else:
                used.append(item)
        used_ids = {item.id for item in used}
        marked = {item.id for item in used if item.echo_of and item.echo_of in used_ids}
        best: dict[tuple, EvidenceItem] = {}  # a repeated claim counts once, its best grade
        for item in used:
            if item.id not in marked and (item.claim_key not in best or item.reliability
                                          > best[item.claim_key].reliability):
                best[item.claim_key] = item
        kept = []
        for item in used:
            if item.id in marked or best[item.claim_key] is not item:
                echoes.append(item.id)
                continue
            kept.append(item)
        nested, crossing = overlaps(self, kept) if nest else ({}, [])
        return [i for i in kept if i.id not in nested], {
            "retracted": retracted, "after_as_of": later, "echoes": echoes,
            "nested": list(nested), "overlapping": [f"{a.id}+{b.id}" for a, b in crossing]}

    @cached_property
    def watch_spans(self) -> dict[str, tuple[Span, ...]]:
        """Watched spans of each watched indicator (validated at load)."""
        return {ind: parse_spans(value) for ind, value in self.priors.watch.items()}

    def is_logged_event(self, item: EvidenceItem) -> bool:
        """Whether ``item`` is a logged event (see :mod:`toolkit.model.readings`)."""
        return is_logged_event(self, item)

    def observations(self, items: list[EvidenceItem],
                     as_of: dt.date | None = None) -> list[Observation]:
        """Engine-ready observations of ``items``, then the quiet time of watched indicators.

        See :func:`toolkit.model.readings.read_observations`.
        """
        return read_observations(self, items, as_of)


def prior_params(indicator: Indicator, expectation: Expectation,
                 t0: float | None = None) -> tuple[float, ...]:
    """Convert an analyst's expectation into the family's prior parameters.

    A path is read as its interval at the reference time ``t0`` (``at_reference``).
    """
    resolved = at_reference(expectation, t0)
    return indicator.family.prior(resolved, PER_MONTHS[resolved.per], indicator.noise_log_sd)


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def load_case(
    root: Path, name: str, evidence_text: str | None = None, priors_text: str | None = None
) -> Case:
    """Load and validate a case.

    Parameters
    ----------
    root : Path
        Folder holding ``priors/``, ``evidence/`` and ``seeds/``.
    name : str
        Case slug.
    evidence_text : str, optional
        Ledger text to validate instead of the file's (used before writing a change).
    priors_text : str, optional
        Priors YAML text to validate instead of the file's (used before saving edited priors).

    Returns
    -------
    Case
        The validated case.

    Raises
    ------
    CaseError
        Listing every problem found in any of the case's files.
    """
    paths = CasePaths(root, name)
    if not paths.priors.exists():
        known = ", ".join(list_cases(root)) or "none"
        raise CaseError([Problem(paths.shown(paths.priors), None, "", f"no case named {name!r}",
                                 f"use one of: {known}; or create it with 'scenarios new "
                                 f"{name}'")])
    priors, indicators, problems = _load_priors(paths, priors_text)
    sources, source_problems = load_sources(paths.seeds, paths.shown(paths.seeds))
    problems += source_problems
    evidence_shown = paths.shown(paths.evidence)
    if evidence_text is not None:
        evidence, evidence_problems = parse_rows(evidence_text, evidence_shown)
        problems += evidence_problems
    elif paths.evidence.exists():
        evidence, evidence_problems = read_evidence(paths.evidence, evidence_shown)
        problems += evidence_problems
    else:
        evidence = []
        problems.append(Problem(evidence_shown, None, "", "file is missing",
                                "create it with the header row (see docs/formats.md)"))
    claims = {c.id for s in sources for c in s.claims}
    problems += check_evidence(evidence, priors, indicators, claims,
                               evidence_shown, check_sources=not source_problems)
    if problems:
        raise CaseError(problems)
    hashes = {paths.shown(p): _hash(p) for p in (paths.priors, paths.evidence)}
    hashes.update({paths.shown(p): _hash(p) for p in sorted(paths.seeds.glob("*.y*ml"))})
    return Case(paths, priors, indicators, evidence, sources, hashes)


def _load_priors(
    paths: CasePaths, text: str | None = None
) -> tuple[Priors | None, dict[str, Indicator], list[Problem]]:
    shown = paths.shown(paths.priors)
    if text is None:
        document, problems = load_yaml(paths.priors, shown)
    else:  # candidate text (edited priors), parsed exactly as the file would be
        document, problems = parse_yaml(text, shown)
    if document is None:
        return None, {}, problems
    problems = check_schema_version(document, shown)
    if problems:
        return None, {}, problems
    problems = []

    def bad(loc: tuple, message: str, fix: str) -> None:
        dotted = ".".join(str(p) for p in loc)
        problems.append(Problem(shown, line_of(document, loc), dotted, message, fix))

    try:
        priors = Priors.model_validate(to_plain(document))
    except ValidationError as exc:
        # the names in 'expectations' are still checked, so one run reports them too
        for loc, message, fix in _unknown_names(*_raw_names(to_plain(document))):
            bad(loc, message, fix)
        return None, {}, pydantic_problems(exc, document, shown) + problems

    problems += check_dynamics(priors, shown, document)

    if priors.case != paths.name:
        bad(("case",), f"is {priors.case!r} but the file is named {paths.name!r}",
            f"set 'case: {paths.name}' or rename the file")
    if sum(s.weight for s in priors.scenarios) <= 0:
        bad(("scenarios",), "all scenario weights are zero", "give at least one positive weight")
    scenario_ids = priors.scenario_ids
    for index, sid in enumerate(scenario_ids):
        if scenario_ids.index(sid) != index:
            bad(("scenarios", index, "id"), f"duplicate scenario id {sid!r}", "make ids unique")
    indicators = dict(STANDARD_INDICATORS)
    for index, spec in enumerate(priors.indicators):
        if spec.id in indicators:
            bad(("indicators", index, "id"), f"indicator {spec.id!r} already exists",
                "choose another id, or drop this entry to use the standard indicator")
            continue
        indicators[spec.id] = Indicator(spec.id, spec.label, spec.kind, spec.unit,
                                        spec.description, spec.noise_log_sd)
    unknown = {u[0]: u for u in _unknown_names(priors.expectations, indicators, scenario_ids)}
    for ind_id, by_scenario in priors.expectations.items():
        if ("expectations", ind_id) in unknown:
            bad(*unknown["expectations", ind_id])
            continue
        for sid, expectation in by_scenario.items():
            if ("expectations", ind_id, sid) in unknown:
                bad(*unknown["expectations", ind_id, sid])
                continue
            issue = expectation.form_matches(indicators[ind_id].kind)
            if issue:
                bad(("expectations", ind_id, sid), issue, "restate the expectation")
        for sid in scenario_ids:
            if sid not in by_scenario:
                bad(("expectations", ind_id), f"no expectation under scenario {sid!r}",
                    f"add '{sid}: {{low: ..., high: ..., rationale: ...}}'")
    for ind_id, value in priors.watch.items():
        if ind_id not in priors.expectations:
            bad(("watch", ind_id), f"unknown indicator {ind_id!r}",
                f"use one of: {', '.join(priors.expectations)}")
            continue
        if not indicators[ind_id].family.point_process:
            bad(("watch", ind_id), f"a {indicators[ind_id].kind} indicator has no events to "
                "log", "watch only count and occurrence indicators")
            continue
        try:
            parse_spans(value)
        except ValueError as exc:
            bad(("watch", ind_id), str(exc), SPAN_HELP)
    if not problems:
        t0 = reference_month(priors.start, priors.horizon)
        for (ind_id, sid), expectation in _each_expectation(priors):
            try:
                prior_params(indicators[ind_id], expectation, t0)
            except (ValueError, ArithmeticError) as exc:
                bad(("expectations", ind_id, sid), f"cannot be turned into a prior ({exc})",
                    "widen the interval or give the distribution directly")
    return (None if problems else priors), indicators, problems


def _raw_names(plain: Any) -> tuple[dict, set[str], list[str] | None]:
    """Expectations, indicator ids and scenario ids read from an unvalidated priors file."""
    if not isinstance(plain, dict):
        return {}, set(), None
    declared = plain.get("indicators")
    indicators = set(STANDARD_INDICATORS) | {
        spec["id"] for spec in (declared if isinstance(declared, list) else [])
        if isinstance(spec, dict) and isinstance(spec.get("id"), str)}
    scenarios = plain.get("scenarios")
    ids = [s["id"] for s in scenarios if isinstance(s, dict) and isinstance(s.get("id"), str)] \
        if isinstance(scenarios, list) else None
    expectations = plain.get("expectations")
    return (expectations if isinstance(expectations, dict) else {}), indicators, ids


def _unknown_names(
    expectations: dict, indicators: Iterable[str], scenario_ids: list[str] | None
) -> list[tuple[tuple, str, str]]:
    """``(location, message, fix)`` for each unknown indicator or scenario in expectations.

    ``scenario_ids`` of ``None`` (the scenarios themselves are unreadable) skips the
    scenario check.
    """
    known = set(indicators)
    out: list[tuple[tuple, str, str]] = []
    for ind_id, by_scenario in expectations.items():
        if ind_id not in known:
            out.append((("expectations", ind_id), f"unknown indicator {ind_id!r}",
                        f"use one of: {', '.join(sorted(known))}, or declare it under "
                        "'indicators'"))
            continue
        if scenario_ids is None or not isinstance(by_scenario, dict):
            continue
        for sid in by_scenario:
            if sid not in scenario_ids:
                out.append((("expectations", ind_id, sid), f"unknown scenario {sid!r}",
                            f"use one of: {', '.join(scenario_ids)}"))
    return out


def _each_expectation(priors: Priors):
    for ind_id, by_scenario in priors.expectations.items():
        for sid, expectation in by_scenario.items():
            yield (ind_id, sid), expectation
