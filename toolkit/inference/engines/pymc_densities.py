"""The densities of the PyMC engine, written once for NumPy and PyTensor.

Every function takes an ``ops`` namespace (:data:`NP` or :func:`pytensor_ops`), so the
marginal-likelihood estimator (NumPy) and the NUTS target (PyTensor) evaluate literally the
same formulas. They are the densities of :mod:`toolkit.families` on the family's
unconstrained parameter ``u`` (log monthly rate, log monthly amount, logit share); the tests
check them against the families.

Observations are split into *link groups* by the form of their likelihood, so each group
computes only what it needs (incomplete gamma and beta functions are costly inside NUTS):

``gp`` (counts and occurrences; mean ``exp(u) t``)
    ``pois`` exact count; ``pois_any`` at least one event; ``pois_cens`` any other range or
    bound, as ``F(high) - F(low - 1)``. ``nb`` and ``nb_cens``: the same for the negative
    binomial extension (dispersion ``phi > 0``: variance ``mean + phi mean^2``, a
    Gamma-Poisson mixture of shape ``1/phi``).
``nl`` (amounts): ``point`` and ``cens`` (range or bound on the log scale).
``bb`` (signals): ``point`` (``k`` of ``n``).
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import special

LOG_2PI = math.log(2 * math.pi)
TINY = 1e-300
FAR = 1e-280
_HUGE = np.float64(1e300)
GROUPS: dict[str, tuple[str, ...]] = {
    "gp": ("pois", "pois_any", "pois_cens"),
    "nl": ("point", "cens"),
    "bb": ("point",),
}
#: Groups added to ``gp`` when some indicator is overdispersed (a separate model structure,
#: so the common Poisson-only model stays small and quick to compile).
NB_GROUPS = ("nb", "nb_cens")
#: Fields of each family's links (every group of a family has the same fields).
FIELDS: dict[str, tuple[str, ...]] = {
    "gp": ("slot", "r", "t", "low", "high", "open", "phi"),
    "nl": ("slot", "r", "x_lo", "x_hi", "lo_open", "hi_open", "noise"),
    "bb": ("slot", "r", "k", "n"),
}

NP = SimpleNamespace(
    log=np.log, exp=np.exp, log1p=np.log1p, expm1=np.expm1, gammaln=special.gammaln,
    gammainc=special.gammainc, gammaincc=special.gammaincc, betainc=special.betainc,
    where=np.where, clip=np.clip, log_ndtr=special.log_ndtr, log_expit=special.log_expit,
    lt=np.less, gt=np.greater,
)


def pytensor_ops() -> SimpleNamespace:
    """The PyTensor counterpart of :data:`NP`."""
    import pytensor.tensor as pt
    from pymc.distributions.dist_math import normal_lcdf

    return SimpleNamespace(
        log=pt.log, exp=pt.exp, log1p=pt.log1p, expm1=pt.expm1, gammaln=pt.gammaln,
        gammainc=pt.gammainc, gammaincc=pt.gammaincc, betainc=pt.betainc, where=pt.switch,
        clip=pt.clip, log_ndtr=lambda x: normal_lcdf(0.0, 1.0, x),
        log_expit=lambda x: -pt.softplus(-x), lt=pt.lt, gt=pt.gt,
    )


def log_prior(ops: Any, family: str, u: Any, p1: Any, p2: Any) -> Any:
    """Log prior density of ``u``: Gamma on ``exp(u)``, Normal on ``u``, Beta on ``expit(u)``."""
    if family == "gp":
        return p1 * ops.log(p2) - ops.gammaln(p1) + p1 * u - p2 * ops.exp(u)
    if family == "nl":
        return -0.5 * ((u - p1) / p2) ** 2 - ops.log(p2) - 0.5 * LOG_2PI
    betaln = ops.gammaln(p1) + ops.gammaln(p2) - ops.gammaln(p1 + p2)
    return p1 * ops.log_expit(u) + p2 * ops.log_expit(-u) - betaln


def link_loglik(ops: Any, family: str, group: str, u: Any, c: dict[str, Any]) -> Any:
    """Untempered log likelihood of each link of one group at ``u`` (gathered per link)."""
    if family == "gp":
        return _gp(ops, group, ops.exp(u) * c["t"], c)
    if family == "nl":
        return _nl(ops, group, u, c)
    k, n = c["k"], c["n"]
    log_choose = ops.gammaln(n + 1) - ops.gammaln(k + 1) - ops.gammaln(n - k + 1)
    return log_choose + k * ops.log_expit(u) + (n - k) * ops.log_expit(-u)


def _safe_log(ops: Any, p: Any) -> Any:
    return ops.log(ops.clip(p, TINY, 2.0))


def _gp(ops: Any, group: str, mean: Any, c: dict[str, Any]) -> Any:
    low = c["low"]
    if group == "pois":
        return low * ops.log(mean) - mean - ops.gammaln(low + 1)
    if group == "pois_any":
        return _safe_log(ops, -ops.expm1(-mean))
    has_low, is_open = ops.gt(low, 0), ops.gt(c["open"], 0)
    if group == "pois_cens":
        return _pois_cens(ops, mean, low, c["high"], has_low, is_open)
    size = 1.0 / c["phi"]
    if group == "nb":
        return (ops.gammaln(low + size) - ops.gammaln(size) - ops.gammaln(low + 1)
                - size * ops.log1p(mean / size) + low * (ops.log(mean) - ops.log(size + mean)))
    p_success = size / (size + mean)  # F(y) = I_p(size, y + 1), the regularized beta function
    safe_low = ops.where(has_low, low, 1.0)
    upper = (ops.betainc(safe_low, size, 1 - p_success)
             - ops.where(is_open, 0.0, ops.betainc(c["high"] + 1, size, 1 - p_success)))
    lower = (ops.where(is_open, 1.0, ops.betainc(size, c["high"] + 1, p_success))
             - ops.where(has_low, ops.betainc(size, safe_low, p_success), 0.0))
    return _safe_log(ops, ops.where(ops.lt(mean, low), upper, lower))


def _pois_cens(ops: Any, mean: Any, low: Any, high: Any, has_low: Any, is_open: Any) -> Any:
    """``log P(low <= Y <= high)``, Poisson: the smaller tail's difference, as in the family.

    Where that difference underflows (a far tail), the tail's leading terms take over:
    ``P(Y >= low) ~ pmf(low) (low + 1) / (low + 1 - mean)`` for ``mean < low`` and
    ``P(Y <= high) ~ pmf(high) mean / (mean - high)`` for ``mean > high``, so the density and
    its gradient stay finite and point back towards the data.
    """
    safe_low = ops.where(has_low, low, 1.0)
    is_upper = ops.lt(mean, low)
    upper = (ops.gammainc(safe_low, mean)
             - ops.where(is_open, 0.0, ops.gammainc(high + 1, mean)))
    lower = (ops.where(is_open, 1.0, ops.gammaincc(high + 1, mean))
             - ops.where(has_low, ops.gammaincc(safe_low, mean), 0.0))
    value = ops.where(is_upper, upper, lower)
    log_mean = ops.log(mean)
    far_upper = (low * log_mean - mean - ops.gammaln(low + 1)
                 + ops.log((low + 1) / ops.clip(low + 1 - mean, 1e-6, _HUGE)))
    far_lower = (high * log_mean - mean - ops.gammaln(high + 1)
                 + ops.log(mean / ops.clip(mean - high, 1e-6, _HUGE)))
    far = ops.where(is_upper, far_upper, far_lower)
    return ops.where(ops.gt(value, FAR), ops.log(ops.clip(value, FAR, 2.0)), far)


def _nl(ops: Any, group: str, u: Any, c: dict[str, Any]) -> Any:
    s = c["noise"]
    if group == "point":
        return -0.5 * ((c["x_lo"] - u) / s) ** 2 - ops.log(s) - 0.5 * LOG_2PI
    z_lo = ops.where(ops.gt(c["lo_open"], 0), -40.0, (c["x_lo"] - u) / s)
    z_hi = ops.where(ops.gt(c["hi_open"], 0), 40.0, (c["x_hi"] - u) / s)
    flip = ops.gt(z_lo, 0)
    a = ops.where(flip, -z_hi, z_lo)
    b = ops.where(flip, -z_lo, z_hi)
    log_b = ops.log_ndtr(b)
    ratio = ops.clip(ops.exp(ops.log_ndtr(a) - log_b), 0.0, 1 - 1e-16)
    return log_b + ops.log1p(-ratio)


def gp_group(low: float, high: float, phi: float) -> str | None:
    """The link group of a count observation (``None``: it carries no information)."""
    if math.isinf(high) and low <= 0:
        return None
    if phi > 0:
        return "nb" if low == high else "nb_cens"
    if low == high:
        return "pois"
    return "pois_any" if (low == 1 and math.isinf(high)) else "pois_cens"
