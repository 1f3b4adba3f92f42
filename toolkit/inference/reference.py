"""What an item says if it is not genuine: the reference likelihood of the reliability mixture.

Under the default reading of reliability an item of reliability ``r`` is genuine with
probability ``r`` and otherwise carries no information about the scenario. "No information"
needs a likelihood that is the same under every scenario. The toolkit uses the item's prior
predictive probability averaged over the scenarios with equal weights (so a change of prior
weights still needs no rerun), read under the same time-aware model (wander, walk, path) as
the genuine likelihood. A total mixes in, with weight :data:`BROAD`, a broad component: the
item's likelihood averaged over a log-uniform rate (amount, share on the logit scale)
reaching :data:`BROAD_REACH` nats beyond every scenario's prior bulk. A report that is not
genuine is mostly a garbled version of what the scenarios lead one to expect, but
sometimes a figure many times too large or too small; without the broad part two such
fabrications that agree with each other look far likelier genuine than either alone
(measured in simulation: two fabricated poorly graded totals of one indicator gave 99% to a
wrong scenario). For a logged event the reference is the scenarios' average prior rate at the
event's time (for a row of ``n`` events, the average prior ``E[rate^n]``), without a broad
part. With it, an item's likelihood ratio between two scenarios is at most
``1 + r / (1 - r) * m_k / ref``, where ``m_k`` is the item's predictive under the favoured
scenario; for a fresh item ``m_k / ref`` is below ``K / (1 - BROAD)`` with ``K`` scenarios.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from toolkit.core.mathutil import logsumexp
from toolkit.families import family_for
from toolkit.families.observation import Observation
from toolkit.inference.engines.exact import Task, solve
from toolkit.inference.quadrature import log_integral_on_grids
from toolkit.inference.slopes import single_log_marginal
from toolkit.model.case import Case

#: Weight of the broad component in a total's reference, and how far (nats of the rate,
#: amount or share's logit) its log-uniform range reaches beyond the scenarios' prior bulks.
BROAD = 0.1
BROAD_REACH = math.log(1e4)


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
    drifting = {ind: any(case.drift(ind, k) is not None for k in scenarios)
                for ind in {observations[i].indicator for i in needed}}
    for i in needed:
        form = genuine_form(observations[i])
        key = (form.indicator, form.reading, form.exposure, form.low, form.high, form.trials,
               form.anchor)
        if drifting[form.indicator]:
            key += (form.start, form.end)  # under a drift the period matters too
        if key not in position:
            position[key] = len(genuine)
            genuine.append(form)
        slot.append(position[key])
    values = np.empty((len(genuine), len(scenarios)))
    tasks, cells = [], []
    for p, form in enumerate(genuine):
        kind = case.indicators[form.indicator].kind
        for k, scenario in enumerate(scenarios):
            params = case.prior_params(form.indicator, scenario)
            drift = case.drift(form.indicator, scenario)
            if drift is None or form.reading == "events":
                tasks.append(Task(kind, params, (p,)))
                cells.append((p, k))
                # an event's density under a drift: the constant-rate one times a moment
                values[p, k] = 0.0 if drift is None else drift.log_event_moment(form.low,
                                                                                form.end)
            else:  # a total under the same time-aware model as its genuine likelihood
                values[p, k] = single_log_marginal(family_for(kind), params, form, drift)
    if tasks:
        rows, columns = zip(*cells, strict=True)
        values[list(rows), list(columns)] += solve(tasks, genuine)
    refs = np.asarray(logsumexp(values, axis=1) - math.log(len(scenarios)), dtype=float)
    for p, form in enumerate(genuine):
        if form.reading == "total" and BROAD > 0:
            refs[p] = np.logaddexp(math.log1p(-BROAD) + refs[p],
                                   math.log(BROAD) + broad_log_marginal(case, form))
    out = list(observations)
    for i, p in zip(needed, slot, strict=True):
        out[i] = dataclasses.replace(out[i], log_ref=float(refs[p]))
    return out


def broad_log_marginal(case: Case, form: Observation) -> float:
    """Log likelihood of a total averaged over the broad component's log-uniform ``u``."""
    family = case.indicators[form.indicator].family
    brackets = [family.bracket(case.prior_params(form.indicator, k), [])
                for k in case.priors.scenario_ids]
    lo = min(b[0] for b in brackets) - BROAD_REACH
    hi = max(b[1] for b in brackets) + BROAD_REACH
    # the likelihood's own parameters (an amount's reporting noise) are the indicator's,
    # not a scenario's: any scenario's prior parameters carry them
    params = case.prior_params(form.indicator, case.priors.scenario_ids[0])
    return log_integral_on_grids(lambda u: family.item_log_lik(u, form, params), lo, hi,
                                 family.features(form), 1e-8) - math.log(hi - lo)


__all__ = ["BROAD", "BROAD_REACH", "broad_log_marginal", "genuine_form", "needs_reference",
           "with_references"]
