"""How a case is laid out for the PyMC engine: slots, links and the data arrays.

The PyMC model samples, for every indicator, every scenario and every *prefix* of that
indicator's evidence items (the first ``m`` items in report order), the indicator's parameter
``u`` conditioned on that scenario and those items. Each such conditional posterior is one
*slot*: a one-dimensional, unimodal distribution. A *link* ties one observation to one slot
(the observation is among the slot's items). The per-slot marginal likelihoods of the
prefixes give each item's increment ``log p(item | earlier items, scenario)``.

Slots are grouped by likelihood family (``gp`` Gamma-Poisson / negative binomial, ``nl``
Normal-LogNormal, ``bb`` Beta-Binomial). Each family's slot vector is padded to a capacity
(a power of two), so the compiled model depends only on the capacities: new evidence, new
priors, new reliabilities or dispersions change only the data arrays (links are variable-
length 1-D data), never the model structure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from toolkit.case import Case
from toolkit.engines.pymc_densities import FIELDS, GROUPS, NB_GROUPS, gp_group
from toolkit.families import family_for
from toolkit.observations import Observation

FAMILIES = ("gp", "nl", "bb")
FAMILY_OF_KIND = {"count": "gp", "occurrence": "gp", "amount": "nl", "signal": "bb"}
MIN_CAPACITY = 16
#: Default prior of a padding slot (never reported): a standard prior in ``u``.
PAD_PARAMS = {"gp": (1.0, 1.0), "nl": (0.0, 1.0), "bb": (1.0, 1.0)}


@dataclass(frozen=True)
class Slot:
    """One conditional posterior: indicator, scenario, and how many of its items it uses."""

    indicator: str
    scenario: int
    prefix: int
    params: tuple[float, ...]
    item_indices: tuple[int, ...]


@dataclass
class FamilyLayout:
    """The slots of one family and their data arrays (slot vectors padded to ``capacity``)."""

    family: str
    slots: list[Slot] = field(default_factory=list)
    capacity: int = 0
    slot_data: dict[str, np.ndarray] = field(default_factory=dict)
    link_data: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


@dataclass
class Layout:
    """The whole case laid out for the model."""

    families: dict[str, FamilyLayout]
    scenario_ids: list[str]
    indicator_kinds: dict[str, str]
    n_items: int

    @property
    def structure(self) -> tuple[int, ...]:
        """The key of the compiled model: slot capacities, and 1 if negative binomial."""
        nb = int(any(g in self.families["gp"].link_data for g in NB_GROUPS))
        return (*(self.families[f].capacity for f in FAMILIES), nb)

    def data(self) -> dict[str, np.ndarray]:
        """Every ``pm.Data`` array of the model, by name."""
        out: dict[str, np.ndarray] = {}
        for f in FAMILIES:
            fam = self.families[f]
            if fam.capacity == 0:
                continue
            out.update({f"{f}_{k}": v for k, v in fam.slot_data.items()})
            for group, fields in fam.link_data.items():
                out.update({f"{f}_{group}_{k}": v for k, v in fields.items()})
        return out


def capacity_for(n: int) -> int:
    """Smallest power of two >= ``n`` (at least :data:`MIN_CAPACITY`); 0 when ``n`` is 0."""
    if n == 0:
        return 0
    return max(MIN_CAPACITY, 1 << (n - 1).bit_length())


def build_layout(
    case: Case,
    observations: list[Observation],
    dispersion: dict[str, float] | None = None,
    min_capacity: dict[str, int] | None = None,
) -> Layout:
    """Lay a case and its observations out as slots and links.

    Parameters
    ----------
    case : Case
        The case (priors give the slot parameters).
    observations : list of Observation
        Items in report order.
    dispersion : dict, optional
        Negative-binomial dispersion ``phi`` (variance = mean + phi mean^2) by count or
        occurrence indicator; missing indicators are Poisson (``phi = 0``).
    min_capacity : dict, optional
        Lower bounds on each family's capacity (to share one compiled model between cases).

    Returns
    -------
    Layout
        Slots, links and data arrays.
    """
    dispersion = dispersion or {}
    scenarios = case.priors.scenario_ids
    by_indicator: dict[str, list[int]] = defaultdict(list)
    for index, obs in enumerate(observations):
        by_indicator[obs.indicator].append(index)
    indicators = list(case.used_indicators)
    indicators += [i for i in by_indicator if i not in indicators]
    kinds = {i: case.indicators[i].kind for i in indicators}
    families = {f: FamilyLayout(f) for f in FAMILIES}
    for indicator in indicators:
        fam = families[FAMILY_OF_KIND[kinds[indicator]]]
        indices = by_indicator.get(indicator, [])
        for k, scenario in enumerate(scenarios):
            params = tuple(float(p) for p in case.prior_params(indicator, scenario))
            for m in range(1, len(indices) + 1) if indices else [0]:
                fam.slots.append(Slot(indicator, k, m, params, tuple(indices[:m])))
    for f, fam in families.items():
        floor = (min_capacity or {}).get(f, 0)
        fam.capacity = max(capacity_for(len(fam.slots)), capacity_for(floor))
        if fam.capacity:
            _fill(fam, observations, dispersion)
    return Layout(families, list(scenarios), kinds, len(observations))


def _fill(fam: FamilyLayout, observations: list[Observation],
          dispersion: dict[str, float]) -> None:
    overdispersed = any(v > 0 for v in dispersion.values())
    params = np.tile(np.array(PAD_PARAMS[fam.family], float), (fam.capacity, 1))
    for s, slot in enumerate(fam.slots):
        params[s] = slot.params[:2]
    fam.slot_data = {"p1": params[:, 0].copy(), "p2": params[:, 1].copy()}
    groups = GROUPS[fam.family] + (NB_GROUPS if fam.family == "gp" and overdispersed else ())
    rows: dict[str, list[dict[str, float]]] = {g: [] for g in groups}
    for s, slot in enumerate(fam.slots):
        for i in slot.item_indices:
            obs = observations[i]
            if obs.reliability <= 0:
                continue
            group, row = _link(fam.family, obs, slot, dispersion)
            if group is not None:
                rows[group].append({"slot": s, "r": obs.reliability, **row})
    fam.link_data = {
        g: {name: np.array([row[name] for row in rows[g]],
                           dtype=np.int64 if name == "slot" else float)
            for name in FIELDS[fam.family]}
        for g in groups
    }


def _link(family: str, obs: Observation, slot: Slot,
          dispersion: dict[str, float]) -> tuple[str | None, dict[str, float]]:
    """The group and field values of one observation's link."""
    if family == "gp":
        phi = float(dispersion.get(obs.indicator, 0.0))
        high = obs.high if math.isfinite(obs.high) else obs.low + 1.0
        return gp_group(obs.low, obs.high, phi), {
            "t": obs.exposure, "low": obs.low, "high": high, "phi": phi if phi > 0 else 1.0,
            "open": float(not math.isfinite(obs.high))}
    if family == "bb":
        return "point", {"k": obs.low, "n": float(obs.trials)}
    x_lo = math.log(obs.low) - math.log(obs.exposure) if obs.low > 0 else -math.inf
    x_hi = (math.log(obs.high) - math.log(obs.exposure)) if math.isfinite(obs.high) else math.inf
    return "point" if obs.is_point else "cens", {
        "x_lo": x_lo if math.isfinite(x_lo) else 0.0,
        "x_hi": x_hi if math.isfinite(x_hi) else 0.0,
        "lo_open": float(not math.isfinite(x_lo)),
        "hi_open": float(not math.isfinite(x_hi)),
        "noise": slot.params[2],
    }


def prior_moments(family: str, p1: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``u`` under each slot's prior."""
    if family == "gp":
        return special.digamma(p1) - np.log(p2), np.sqrt(special.polygamma(1, p1))
    if family == "nl":
        return p1.copy(), p2.copy()
    return (special.digamma(p1) - special.digamma(p2),
            np.sqrt(special.polygamma(1, p1) + special.polygamma(1, p2)))


def bracket_slots(fam: FamilyLayout, observations: list[Observation]) -> np.ndarray:
    """An interval of ``u`` per used slot holding its prior bulk and its data (for centring)."""
    module = family_for({"gp": "count", "nl": "amount", "bb": "signal"}[fam.family])
    return np.array([
        module.bracket(slot.params, [observations[i] for i in slot.item_indices])
        for slot in fam.slots
    ], float).reshape(-1, 2)
