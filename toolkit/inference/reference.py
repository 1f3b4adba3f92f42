"""What an item says if it is not genuine: the reference likelihood of the reliability mixture.

Under the default reading of reliability an item of reliability ``r`` is genuine with
probability ``r`` and otherwise carries no information about the scenario. "No information"
needs a likelihood that is the same under every scenario; the toolkit uses the item's prior
predictive probability averaged over the scenarios with equal weights (so a change of prior
weights still needs no rerun). For a logged event it is the scenarios' average prior rate
per month (for a row of ``n`` events, the average prior ``E[rate^n]``). With it, an item's
likelihood ratio between two scenarios is at most
``1 + r / (1 - r) * m_k / ref``, where ``m_k`` is the item's predictive under the favoured
scenario; for a fresh item ``m_k / ref`` is below the number of scenarios.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from toolkit.core.mathutil import logsumexp
from toolkit.families.observation import Observation
from toolkit.inference.engines.exact import Task, solve
from toolkit.model.case import Case


def needs_reference(obs: Observation) -> bool:
    """Whether ``obs`` is read as a mixture with a real chance of not being genuine."""
    return obs.mixed


def genuine_form(obs: Observation) -> Observation:
    """The observation whose prior predictive is the reference of ``obs``."""
    if obs.reading == "events":  # the events' density in time: no quiet time
        return dataclasses.replace(obs, exposure=0.0, reliability=1.0, mixture=False)
    return dataclasses.replace(obs, reliability=1.0, mixture=False)


def with_references(case: Case, observations: Sequence[Observation]) -> list[Observation]:
    """Observations with ``log_ref`` set wherever the mixture reading needs it.

    Parameters
    ----------
    case : Case
        The case (its scenarios' priors define the reference).
    observations : sequence of Observation
        Observations as read from the evidence.

    Returns
    -------
    list of Observation
        The same observations; mixture items carry their reference log likelihood.
    """
    scenarios = case.priors.scenario_ids
    needed = [i for i, obs in enumerate(observations) if needs_reference(obs)]
    if not needed:
        return list(observations)
    genuine: list[Observation] = []
    position: dict[tuple, int] = {}  # equal genuine forms (a log of events) share one
    slot = []
    for i in needed:
        form = genuine_form(observations[i])
        key = (form.indicator, form.reading, form.exposure, form.low, form.high, form.trials)
        if key not in position:
            position[key] = len(genuine)
            genuine.append(form)
        slot.append(position[key])
    tasks = []
    for p, form in enumerate(genuine):
        kind = case.indicators[form.indicator].kind
        tasks += [Task(kind, case.prior_params(form.indicator, k), (p,)) for k in scenarios]
    values = solve(tasks, genuine).reshape(len(genuine), len(scenarios))
    refs = np.asarray(logsumexp(values, axis=1) - math.log(len(scenarios)), dtype=float)
    out = list(observations)
    for i, p in zip(needed, slot, strict=True):
        out[i] = dataclasses.replace(out[i], log_ref=float(refs[p]))
    return out


__all__ = ["genuine_form", "needs_reference", "with_references"]
