"""Inference: engines, parameter posteriors, predictive probabilities, diagnostics.

Engines (exact and PyMC) compute marginal likelihoods only; the dynamic model's sampler and
the convergence gate live here too. :mod:`toolkit.outputs` turns results into forecasts.
"""
