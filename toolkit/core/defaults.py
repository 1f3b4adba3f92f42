"""Defaults in one place: the credible level, the convergence gate, grid sizes.

Every module reads these names instead of repeating the numbers, so a change of default is
one edit and the JSON, the tables and the documentation stay in step.
"""

from __future__ import annotations

#: Probability of every central credible interval and of an expectation's interval.
LEVEL = 0.9

#: The convergence gate shared by every sampler (:mod:`toolkit.inference.diagnostics`).
R_HAT_MAX = 1.01
ESS_MIN = 400
#: PyMC engine only: importance-sampling Pareto k and marginal-likelihood MCSE.
KHAT_MAX = 0.7
MCSE_MAX = 0.05

#: Points of a parameter posterior's quadrature grid (:mod:`toolkit.inference.posteriors`).
GRID_POINTS = 801
