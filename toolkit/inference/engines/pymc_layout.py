"""How a case is laid out for the PyMC engine: slots, links and the data arrays.

For every indicator, every scenario and every *prefix* of that indicator's evidence items
(the first ``m`` items in report order), the indicator's parameter ``u`` conditioned on that
scenario and those items is one *slot*: a one-dimensional, unimodal distribution. A *link*
ties one observation to one slot (the observation is among the slot's items). The per-slot
marginal likelihoods of the prefixes give each item's increment ``log p(item | earlier
items, scenario)``, so the trail needs every prefix; the final probabilities need only the
last prefix of each indicator and scenario. Those *sampled* slots are the PyMC model's
unknowns (the posterior of every indicator parameter under every scenario); the earlier
prefixes are only integrated by importance sampling (:mod:`.pymc_marginal`).

Slots are grouped by likelihood family (:data:`toolkit.families.FAMILIES`, in that order).
Each family's sampled slots are padded to a capacity (a power of two), so the compiled model
depends only on the capacities: new evidence, new priors, new reliabilities or dispersions
change only the data arrays, never the model structure. The data are packed into three
arrays (:meth:`Layout.data`): the compiled model's wrapper costs about a second of
compilation per data variable, and it cannot be cached across processes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from toolkit.families import FAMILIES
from toolkit.families.observation import Observation
from toolkit.inference.engines.pymc_densities import FIELDS, groups_of
from toolkit.model.case import Case

MIN_CAPACITY = 8
#: Columns of the packed slot matrix, and of the packed link matrix before the fields.
SLOT_COLUMNS = ("p1", "p2", "center", "scale")
LINK_HEAD = ("slot", "r", "mix", "ref")
LINK_WIDTH = len(LINK_HEAD) + max(len(fields) - len(LINK_HEAD) for fields in FIELDS.values())
#: Default prior of a padding slot (never reported): a standard prior in ``u``.


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
    """The slots of one family, which of them are sampled, and their data arrays.

    ``slot_data`` (``p1``, ``p2``, and ``center``, ``scale`` once centred) and ``link_data``
    cover every slot; the model sees the ``sampled`` slots, padded to ``capacity``.
    """

    family: str
    slots: list[Slot] = field(default_factory=list)
    sampled: list[int] = field(default_factory=list)
    capacity: int = 0
    slot_data: dict[str, np.ndarray] = field(default_factory=dict)
    link_data: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def model_slots(self) -> np.ndarray:
        """The sampled slots' :data:`SLOT_COLUMNS`, padded to ``capacity`` rows."""
        block = np.empty((self.capacity, len(SLOT_COLUMNS)))
        family = FAMILIES[self.family]
        p1, p2 = (np.full(self.capacity, v) for v in family.pad_params)
        block[:, 0], block[:, 1] = p1, p2
        block[:, 2], block[:, 3] = family.prior_moments(p1, p2)
        for column, name in enumerate(SLOT_COLUMNS):
            block[: len(self.sampled), column] = self.slot_data[name][self.sampled]
        return block

    def model_links(self, group: str) -> np.ndarray:
        """The links of ``group`` that feed sampled slots, slot renumbered, as one matrix."""
        link = self.link_data[group]
        position = np.full(len(self.slots), -1)
        position[self.sampled] = np.arange(len(self.sampled))
        keep = position[link["slot"]] >= 0 if link["slot"].size else np.zeros(0, bool)
        out = np.zeros((int(keep.sum()), LINK_WIDTH))
        out[:, 0] = position[link["slot"][keep]]
        for column, name in enumerate(FIELDS[self.family][1:], start=1):
            out[:, column] = link[name][keep]
        return out


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
        return (*(self.families[f].capacity for f in FAMILIES), int(self.negative_binomial))

    @property
    def negative_binomial(self) -> bool:
        """Whether the count links include the negative-binomial groups."""
        return any(g in fam.link_data for f, fam in self.families.items()
                   for g in FAMILIES[f].dispersion_groups)

    def groups(self) -> list[tuple[str, str]]:
        """The (family, group) pairs of the model, in the order of :meth:`data`'s counts."""
        return group_order(self.structure)

    def data(self) -> dict[str, np.ndarray]:
        """The model's three ``pm.Data`` arrays, packed.

        Returns
        -------
        dict
            ``slots``: the sampled slots' :data:`SLOT_COLUMNS`, family after family, each
            padded to its capacity (so a family's rows are fixed by the structure);
            ``links``: every model link as ``slot, r, fields...`` (:data:`FIELDS`), group
            after group in :meth:`groups` order, ``slot`` counted within the family;
            ``counts``: the number of links of each group.
        """
        present = [self.families[f] for f in FAMILIES if self.families[f].capacity]
        blocks = [self.families[f].model_links(g) for f, g in self.groups()]
        return {
            "slots": np.vstack([fam.model_slots() for fam in present]),
            "links": np.vstack(blocks) if blocks else np.zeros((0, LINK_WIDTH)),
            "counts": np.array([len(b) for b in blocks], dtype=np.int64),
        }


def group_order(structure: tuple[int, ...]) -> list[tuple[str, str]]:
    """The (family, group) pairs of a model structure, in a fixed order."""
    *capacities, nb = structure
    return [(f, g) for f, cap in zip(FAMILIES, capacities, strict=True) if cap
            for g in groups_of(f, bool(nb))]


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
        fam = families[case.indicators[indicator].family.name]
        indices = by_indicator.get(indicator, [])
        for k, scenario in enumerate(scenarios):
            params = tuple(float(p) for p in case.prior_params(indicator, scenario))
            for m in range(1, len(indices) + 1) if indices else [0]:
                fam.slots.append(Slot(indicator, k, m, params, tuple(indices[:m])))
            fam.sampled.append(len(fam.slots) - 1)
    for f, fam in families.items():
        floor = (min_capacity or {}).get(f, 0)
        fam.capacity = max(capacity_for(len(fam.sampled)), capacity_for(floor))
        if fam.capacity:
            _fill(fam, observations, dispersion)
    return Layout(families, list(scenarios), kinds, len(observations))


def _fill(fam: FamilyLayout, observations: list[Observation],
          dispersion: dict[str, float]) -> None:
    overdispersed = any(v > 0 for v in dispersion.values())
    params = np.array([slot.params[:2] for slot in fam.slots], float).reshape(-1, 2)
    p1, p2 = params[:, 0].copy(), params[:, 1].copy()
    family = FAMILIES[fam.family]
    center, scale = family.prior_moments(p1, p2)  # until centred on the posterior
    fam.slot_data = {"p1": p1, "p2": p2, "center": center, "scale": scale}
    groups = groups_of(fam.family, overdispersed)
    rows: dict[str, list[dict[str, float]]] = {g: [] for g in groups}
    for s, slot in enumerate(fam.slots):
        for i in slot.item_indices:
            obs = observations[i]
            if obs.reliability <= 0:
                continue
            phi = float(dispersion.get(obs.indicator, 0.0))
            group, row = family.link(obs, slot.params, phi)
            if group is not None:
                mixed = obs.mixture and obs.reliability < 1.0
                rows[group].append({"slot": s, "r": obs.reliability, "mix": float(mixed),
                                    "ref": obs.log_ref if mixed else 0.0, **row})
    fam.link_data = {
        g: {name: np.array([row[name] for row in rows[g]],
                           dtype=np.int64 if name == "slot" else float)
            for name in FIELDS[fam.family]}
        for g in groups
    }


def bracket_slots(fam: FamilyLayout, observations: list[Observation]) -> np.ndarray:
    """An interval of ``u`` per used slot holding its prior bulk and its data (for centring)."""
    family = FAMILIES[fam.family]
    return np.array([
        family.bracket(slot.params, [observations[i] for i in slot.item_indices])
        for slot in fam.slots
    ], float).reshape(-1, 2)
