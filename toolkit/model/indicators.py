"""Indicators: observable signposts, their kinds, and the standard registry.

An indicator's *kind* fixes how evidence about it is read and which likelihood family
updates the scenarios (see ``docs/formats.md``):

``count``
    How many things per period (drones, shells, sanction actions): Poisson counts whose
    monthly rate has a Gamma prior under each scenario.
``occurrence``
    Whether events of a type happen in a window: a Poisson process of events; ``yes``
    means at least one event in the period, ``no`` none.
``amount``
    Money or another positive quantity per period: the log of the reported amount is
    Normal around the log of (monthly amount x months) with ``noise_log_sd``.
``signal``
    The share of discrete signals that point one way (statements affirming alignment):
    Bernoulli signals whose share has a Beta prior under each scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from toolkit.families import Family, family_for

Kind = Literal["count", "occurrence", "amount", "signal"]


@dataclass(frozen=True)
class Indicator:
    """An observable signpost.

    Parameters
    ----------
    id : str
        Slug used in priors and evidence files.
    label : str
        Short human name.
    kind : {"count", "occurrence", "amount", "signal"}
        How evidence is read; fixes the likelihood family.
    unit : str
        Unit of evidence values (``drones``, ``USD bn``, ``events``, ``statements``).
    description : str
        What counts as an observation.
    noise_log_sd : float
        For ``amount`` only: standard deviation of log(reported / true amount).
    """

    id: str
    label: str
    kind: Kind
    unit: str
    description: str
    noise_log_sd: float = 0.35

    @property
    def family(self) -> Family:
        """Return the likelihood family that reads this indicator's evidence."""
        return family_for(self.kind)


STANDARD_INDICATORS: dict[str, Indicator] = {
    ind.id: ind
    for ind in (
        Indicator(
            "drone_supply", "Drones supplied by Iran to Russia", "count", "drones",
            "Iranian-made uncrewed aerial vehicles (e.g. Shahed-136, Mohajer-6) delivered to "
            "Russia, or assembled there from Iranian kits, in the period.",
        ),
        Indicator(
            "munitions_supply", "Artillery shells supplied by Iran to Russia", "count", "shells",
            "Artillery shells shipped from Iran to Russia in the period.",
        ),
        Indicator(
            "advanced_arms_to_iran", "Advanced Russian arms for Iran", "occurrence", "events",
            "A transfer or firm offer of advanced Russian weapons to Iran (combat aircraft such "
            "as the Su-35, attack helicopters, air defence, radars, trainers), or training on "
            "them.",
        ),
        Indicator(
            "joint_production", "Joint arms production", "occurrence", "events",
            "A step toward joint Russian-Iranian weapons production: a factory, licence or "
            "production line announced, built or running.",
        ),
        Indicator(
            "financing", "Russian financing in Iran", "amount", "USD bn",
            "Russian investment or project financing committed or disbursed in Iran in the "
            "period, in billions of US dollars.",
        ),
        Indicator(
            "instc_progress", "INSTC progress", "occurrence", "events",
            "A binding step on the International North-South Transport Corridor: an "
            "agreement, financing, or a construction milestone (e.g. Rasht-Astara railway).",
        ),
        Indicator(
            "defense_commitment", "Defense-partnership commitments", "occurrence", "events",
            "A formal signpost of a full-fledged defense partnership: a treaty or "
            "mutual-defence clause, a joint command, standing joint exercises, or a declared "
            "alliance.",
        ),
        Indicator(
            "diplomatic_alignment", "Diplomatic alignment", "signal", "statements",
            "Official statements on the relationship: 1 when a statement affirms alignment "
            "or continued cooperation, 0 when it distances one side from the other.",
        ),
        Indicator(
            "sanctions_pressure", "Sanctions on the military cooperation", "count", "actions",
            "Western sanction actions (designation rounds, new legal frameworks) aimed at "
            "Russia-Iran military trade.",
        ),
    )
}
