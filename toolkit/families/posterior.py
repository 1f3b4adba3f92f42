"""The posterior of one indicator parameter under one scenario, in one of three forms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from toolkit.families.base import Family


@dataclass(frozen=True)
class ParameterPosterior:
    """Posterior of one indicator's parameter ``u`` under one scenario.

    Parameters
    ----------
    kind : str
        Indicator kind.
    prior : tuple of float
        The family's prior parameters (for ``amount`` the third is the reporting noise).
    method : {"closed form", "quadrature", "draws"}
        Which representation holds.
    conjugate : tuple of float, optional
        Posterior family parameters (closed form): ``(alpha, beta)`` of the monthly rate,
        ``(mu, sigma, noise)`` of the log monthly amount, ``(a, b)`` of the share.
    nodes, weights : ndarray, optional
        Points ``u`` and their normalised weights (quadrature grid or equally weighted draws).
    dispersion : float
        Negative-binomial dispersion ``phi`` of a count given its rate (PyMC engine's
        extension: variance ``mean + phi mean^2``); 0 is the Poisson.
    scatter : float
        Variance of the log of a factor a rate's walk puts on the window's total
        (:meth:`toolkit.model.trajectory.Drift.scatter`); 0 without a walk.
    """

    kind: str
    prior: tuple[float, ...]
    method: str
    conjugate: tuple[float, ...] | None = None
    nodes: np.ndarray | None = None
    weights: np.ndarray | None = None
    dispersion: float = 0.0
    scatter: float = 0.0

    @property
    def family(self) -> Family:
        """The likelihood family of :attr:`kind`."""
        from toolkit.families import family_for

        return family_for(self.kind)
