"""Likelihood families: one conjugate prior-likelihood pair per module.

Each family works on one unconstrained parameter ``u`` per indicator and scenario and
offers the same functions: ``prior_from_interval``, ``prior_from_distribution``,
``log_prior_u``, ``log_lik_u`` (vectorised over a grid of ``u``), ``closed_form`` (the exact
log marginal likelihood of exact observations, or ``None`` when censored ones are present)
and ``bracket`` (where the posterior mass of ``u`` lies, for quadrature).
"""

from __future__ import annotations

from types import ModuleType

from toolkit.families import beta_bernoulli, gamma_poisson, normal_lognormal

_BY_KIND: dict[str, ModuleType] = {
    "count": gamma_poisson,
    "occurrence": gamma_poisson,
    "amount": normal_lognormal,
    "signal": beta_bernoulli,
}


def family_for(kind: str) -> ModuleType:
    """Return the family module for an indicator kind."""
    return _BY_KIND[kind]


PER_MONTHS: dict[str, float] = {
    "day": 12 / 365.25,
    "week": 7 * 12 / 365.25,
    "month": 1.0,
    "quarter": 3.0,
    "year": 12.0,
}
