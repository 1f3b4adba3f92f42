"""Priors: the question, scenarios with prior weights, and per-scenario indicator expectations.

Parsed from ``priors/<case>.yaml`` (see ``docs/formats.md``) into typed, validated objects.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from toolkit.core.defaults import LEVEL
from toolkit.families import family_for
from toolkit.families.observation import ANCHOR_CHANCE, ANCHOR_FACTOR
from toolkit.model.indicators import Kind

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Period = Literal["day", "week", "month", "quarter", "year"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scenario(_Strict):
    """One of a mutually exclusive, exhaustive set of end states at the horizon."""

    id: Slug
    label: str = Field(min_length=1)
    weight: float = Field(ge=0, le=1e9, allow_inf_nan=False)  # relative; 1e308 would overflow
    description: str = ""


class GammaSpec(_Strict):
    """A Gamma distribution of a rate per period."""

    alpha: float = Field(gt=0, allow_inf_nan=False)
    beta: float = Field(gt=0, allow_inf_nan=False)


class LogNormalSpec(_Strict):
    """A LogNormal distribution of an amount per period (parameters of the log)."""

    mu: float = Field(allow_inf_nan=False)
    sigma: float = Field(gt=0, allow_inf_nan=False)


class BetaSpec(_Strict):
    """A Beta distribution of a share."""

    a: float = Field(gt=0, allow_inf_nan=False)
    b: float = Field(gt=0, allow_inf_nan=False)


class PathPoint(_Strict):
    """One point of a trajectory: a central interval of the rate (or amount) at a date.

    ``at`` is a date, or a year (read as its middle, 1 July).
    """

    at: dt.date | int
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @property
    def day(self) -> dt.date:
        """The point's date."""
        return dt.date(self.at, 7, 1) if isinstance(self.at, int) else self.at

    @model_validator(mode="after")
    def _ordered(self) -> PathPoint:
        if isinstance(self.at, int) and not 1900 <= self.at <= 2200:
            raise ValueError(f"year {self.at} is out of range (1900-2200)")
        if self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        return self


class Expectation(_Strict):
    """What one scenario makes us expect of one indicator.

    Either a central interval (``low``, ``high``, ``level``) of the rate per ``per``, amount per
    ``per`` or share, the distribution itself (``gamma``, ``lognormal`` or ``beta``), or a
    ``path``: intervals of the rate or amount at dates, interpolated between them
    (:mod:`toolkit.model.trajectory`).
    """

    low: float | None = Field(default=None, allow_inf_nan=False)
    high: float | None = Field(default=None, allow_inf_nan=False)
    level: float = Field(default=LEVEL, gt=0, lt=1)
    per: Period = "month"
    gamma: GammaSpec | None = None
    lognormal: LogNormalSpec | None = None
    beta: BetaSpec | None = None
    rationale: str = Field(min_length=1)
    source: str | None = None
    wander: float | None = Field(default=None, gt=1, allow_inf_nan=False)
    walk: float | None = Field(default=None, gt=1, allow_inf_nan=False)
    path: list[PathPoint] | None = Field(default=None, min_length=2, max_length=100)

    @model_validator(mode="after")
    def _one_form(self) -> Expectation:
        distributions = [d for d in (self.gamma, self.lognormal, self.beta) if d is not None]
        has_interval = self.low is not None or self.high is not None
        if self.path is not None:
            if has_interval or distributions:
                raise ValueError("give a path, an interval (low/high) or a distribution, "
                                 "only one of them")
            days = [point.day for point in self.path]
            if any(b <= a for a, b in zip(days, days[1:], strict=False)):
                raise ValueError("the path's dates must increase")
            return self
        if has_interval and distributions:
            raise ValueError("give either low/high or a distribution, not both")
        if not has_interval and not distributions:
            raise ValueError("give low and high (an interval), a path or a distribution")
        if len(distributions) > 1:
            raise ValueError("give only one distribution")
        if has_interval:
            if self.low is None or self.high is None:
                raise ValueError("an interval needs both low and high")
            if self.low >= self.high:
                raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        return self

    def form_matches(self, kind: Kind) -> str | None:
        """Return a problem description if this expectation does not fit ``kind``."""
        return family_for(kind).expectation_problem(kind, self)


class IndicatorSpec(_Strict):
    """An indicator a case adds to the standard registry."""

    id: Slug
    label: str = Field(min_length=1)
    kind: Kind
    unit: str = Field(min_length=1)
    description: str = ""
    noise_log_sd: float = Field(default=0.35, gt=0, allow_inf_nan=False)


Months = Annotated[float, Field(gt=1, allow_inf_nan=False)]
TransitionWeight = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Dynamics(_Strict):
    """Optional ``dynamics:`` section: how the scenarios (regimes) may change month by month.

    Read only by the dynamic model (``toolkit.inference.dynamic``); every field has a default, so a
    priors file without the section stays valid. Scenario ids are checked against the
    scenarios by :func:`toolkit.model.dynamics.check_dynamics`.
    """

    typical_duration_months: Months | dict[str, Months] = 24.0
    transitions: dict[str, dict[str, TransitionWeight]] = Field(default_factory=dict)
    concentration: float = Field(default=20.0, gt=0, allow_inf_nan=False)
    target: Slug | None = None


class BoundReading(_Strict):
    """Optional ``bounds:``: how a lower bound ("at least x") on a total is read.

    With probability ``chance`` the total lies within ``within`` times the bound, otherwise
    anywhere up to 10,000 times it (:func:`toolkit.families.observation.anchored`).
    """

    within: float = Field(default=ANCHOR_FACTOR, gt=1, le=1000, allow_inf_nan=False)
    chance: float = Field(default=ANCHOR_CHANCE, ge=0, le=1, allow_inf_nan=False)


class Priors(_Strict):
    """The contents of ``priors/<case>.yaml``."""

    schema_version: Literal[1]
    case: str
    title: str = Field(min_length=1)
    question: str = Field(min_length=1)
    start: dt.date | None = None  # before horizon: the horizon's check reads it
    horizon: dt.date
    weight_concentration: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    scenarios: list[Scenario] = Field(min_length=2)
    indicators: list[IndicatorSpec] = Field(default_factory=list)
    expectations: dict[str, dict[str, Expectation]] = Field(min_length=1)
    dynamics: Dynamics | None = None
    watch: dict[str, str | list[str]] = Field(default_factory=dict)
    reliability_reading: Literal["mixture", "tempered"] = "mixture"
    bounds: BoundReading = Field(default_factory=BoundReading)
    wander: float | None = Field(default=None, gt=1, allow_inf_nan=False)
    walk: float | None = Field(default=None, gt=1, allow_inf_nan=False)

    @field_validator("horizon")
    @classmethod
    def _after_start(cls, horizon: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and horizon <= start:
            raise ValueError(f"is not after the start {start}; set it to the date the "
                             "question is about")
        return horizon

    @property
    def scenario_ids(self) -> list[str]:
        """Scenario ids in file order."""
        return [s.id for s in self.scenarios]

    @property
    def weights(self) -> list[float]:
        """Prior weights normalised to sum to 1."""
        total = math.fsum(s.weight for s in self.scenarios)
        return [s.weight / total for s in self.scenarios]
