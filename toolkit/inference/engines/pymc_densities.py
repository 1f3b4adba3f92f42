"""The densities of the PyMC engine, written once for NumPy and PyTensor.

Every function takes an ``ops`` namespace (:data:`NP` or :func:`pytensor_ops`), so the
marginal-likelihood estimator (NumPy) and the NUTS target (PyTensor) evaluate literally the
same formulas. They are the densities of :mod:`toolkit.families` on the family's
unconstrained parameter ``u`` (log monthly rate, log monthly amount, logit share); the tests
check them against the families.

Observations are split into *link groups* by the form of their likelihood, so each group
computes only what it needs (incomplete gamma and beta functions are costly inside NUTS);
each family declares its groups and fields (:attr:`toolkit.families.base.Family.link_groups`)
and writes their densities once for both namespaces.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import special

from toolkit.families import FAMILIES

#: Fields of each family's links (every group of a family has the same fields).
FIELDS: dict[str, tuple[str, ...]] = {name: f.link_fields for name, f in FAMILIES.items()}

NP = SimpleNamespace(
    logaddexp=np.logaddexp,
    log=np.log,
    exp=np.exp,
    log1p=np.log1p,
    expm1=np.expm1,
    gammaln=special.gammaln,
    gammainc=special.gammainc,
    gammaincc=special.gammaincc,
    betainc=special.betainc,
    where=np.where,
    clip=np.clip,
    log_ndtr=special.log_ndtr,
    log_expit=special.log_expit,
    lt=np.less,
    gt=np.greater,
)


def pytensor_ops() -> SimpleNamespace:
    """The PyTensor counterpart of :data:`NP`."""
    import pytensor.tensor as pt
    from pymc.distributions.dist_math import normal_lcdf

    return SimpleNamespace(
        logaddexp=pt.logaddexp,
        log=pt.log,
        exp=pt.exp,
        log1p=pt.log1p,
        expm1=pt.expm1,
        gammaln=pt.gammaln,
        gammainc=pt.gammainc,
        gammaincc=pt.gammaincc,
        betainc=pt.betainc,
        where=pt.switch,
        clip=pt.clip,
        log_ndtr=lambda x: normal_lcdf(0.0, 1.0, x),
        log_expit=lambda x: -pt.softplus(-x),
        lt=pt.lt,
        gt=pt.gt,
    )


def log_prior(ops: Any, family: str, u: Any, p1: Any, p2: Any) -> Any:
    """Log prior density of ``u`` under the named family (``ops``: NumPy or PyTensor)."""
    return FAMILIES[family].log_prior_ops(ops, u, p1, p2)


def link_loglik(ops: Any, family: str, group: str, u: Any, c: dict[str, Any]) -> Any:
    """Untempered log likelihood of each link of one group at ``u`` (gathered per link)."""
    return FAMILIES[family].link_loglik(ops, group, u, c)


def with_reliability(ops: Any, ll: Any, c: dict[str, Any]) -> Any:
    """Each link's log likelihood with its reliability applied (the families' rule).

    ``mix = 1``: genuine with probability ``r``, otherwise the reference ``ref``
    (:mod:`toolkit.inference.reference`); ``mix = 0``: tempered, ``r * ll``.
    """
    r = c["r"]
    safe = ops.clip(r, 1e-300, 1.0 - 1e-12)
    mixed = ops.logaddexp(ops.log(safe) + ll, ops.log1p(-safe) + c["ref"])
    return ops.where(ops.gt(c["mix"], 0), mixed, r * ll)


def groups_of(family: str, overdispersed: bool) -> tuple[str, ...]:
    """The link groups of a family in a model with or without overdispersed indicators."""
    fam = FAMILIES[family]
    return fam.link_groups + (fam.dispersion_groups if overdispersed else ())
