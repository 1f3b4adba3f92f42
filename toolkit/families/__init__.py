"""Likelihood families: one :class:`~toolkit.families.base.Family` object per likelihood.

Each family (``gamma_poisson``, ``normal_lognormal``, ``beta_bernoulli``) owns everything that
depends on an indicator's kind: priors from intervals, the value grammar, the likelihood in
NumPy and PyTensor, conjugate posteriors, predictives, watch-list bins and what the charts
plot (see :mod:`toolkit.families.base`). Kinds map to families here and nowhere else:

``count``
    :class:`~toolkit.families.gamma_poisson.GammaPoisson` (whole-number totals).
``occurrence``
    :class:`~toolkit.families.gamma_poisson.GammaPoisson` with ``yes``/``no`` values.
``amount``
    :class:`~toolkit.families.normal_lognormal.NormalLogNormal`.
``signal``
    :class:`~toolkit.families.beta_bernoulli.BetaBernoulli`.
"""

from __future__ import annotations

from toolkit.families.base import Family
from toolkit.families.beta_bernoulli import BetaBernoulli
from toolkit.families.gamma_poisson import GammaPoisson
from toolkit.families.normal_lognormal import NormalLogNormal

_COUNTS = GammaPoisson()
_AMOUNTS = NormalLogNormal()
_SIGNALS = BetaBernoulli()
_BY_KIND: dict[str, Family] = {
    "count": _COUNTS,
    "occurrence": GammaPoisson(events=True),
    "amount": _AMOUNTS,
    "signal": _SIGNALS,
}
#: One instance per family name, in the PyMC engine's order.
FAMILIES: dict[str, Family] = {f.name: f for f in (_COUNTS, _AMOUNTS, _SIGNALS)}

PER_MONTHS: dict[str, float] = {
    "day": 12 / 365.25,
    "week": 7 * 12 / 365.25,
    "month": 1.0,
    "quarter": 3.0,
    "year": 12.0,
}


def family_for(kind: str) -> Family:
    """Return the family of an indicator kind (``count``, ``occurrence``, ``amount``, ...)."""
    return _BY_KIND[kind]


__all__ = ["FAMILIES", "PER_MONTHS", "Family", "family_for"]
