"""Posterior predictive of an indicator over a future window, from the PyMC engine's draws.

Given scenario ``k`` the indicator's parameter has the posterior draws in
``forecast.extras["parameter_draws"][(indicator, k)]``; a future total over ``months`` is
drawn from the indicator's likelihood at each draw. Over scenarios the predictive is the
mixture with weights ``P(k | evidence)`` (the marginalized model's predictive).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Predictive:
    """Predictive draws of one indicator's total over a future window."""

    indicator: str
    kind: str
    months: float
    by_scenario: dict[str, np.ndarray]
    mixture: np.ndarray

    def probability_at_least(self, value: float) -> dict[str, float]:
        """``P(total >= value)`` per scenario and overall (key ``"all"``)."""
        out = {k: float(np.mean(d >= value)) for k, d in self.by_scenario.items()}
        out["all"] = float(np.mean(self.mixture >= value))
        return out


def posterior_predictive(
    forecast: Any, indicator: str, months: float = 12.0, trials: int = 1, draws: int = 4000,
    seed: int = 0,
) -> Predictive:
    """Draw an indicator's future total over ``months`` months under the posterior.

    Parameters
    ----------
    forecast : Forecast
        A PyMC-engine forecast (its extras hold ``parameter_draws`` and ``indicator_kinds``).
    indicator : str
        Indicator id.
    months : float
        Length of the future window in months (ignored for signals).
    trials : int
        For signals: how many future signals (the draw is how many point one way).
    draws : int
        Draws of the scenario mixture.
    seed : int
        Random seed.

    Returns
    -------
    Predictive
        Draws per scenario (one per posterior draw) and of the mixture over scenarios.

    Raises
    ------
    KeyError
        If the forecast holds no draws of ``indicator``.
    """
    extras = forecast.extras
    kind = extras["indicator_kinds"][indicator]
    phi = float(extras.get("dispersion", {}).get(indicator, 0.0))
    noise = float(extras.get("noise_log_sd", {}).get(indicator, 0.35))
    rng = np.random.default_rng(seed)
    by_scenario = {}
    for scenario in forecast.scenario_ids:
        theta = np.asarray(extras["parameter_draws"][(indicator, scenario)], float)
        by_scenario[scenario] = _draw(kind, theta, months, trials, phi, noise, rng)
    probs = np.asarray(forecast.probabilities, float)
    choice = rng.choice(len(probs), size=draws, p=probs / probs.sum())
    mixture = np.empty(draws)
    for k, scenario in enumerate(forecast.scenario_ids):
        pick = choice == k
        if pick.any():
            mixture[pick] = rng.choice(by_scenario[scenario], size=int(pick.sum()))
    return Predictive(indicator, kind, months, by_scenario, mixture)


def _draw(kind: str, theta: np.ndarray, months: float, trials: int, phi: float, noise: float,
          rng: np.random.Generator) -> np.ndarray:
    if kind in ("count", "occurrence"):
        mean = theta * months
        if phi > 0:  # Gamma-Poisson mixture = negative binomial
            mean = rng.gamma(1.0 / phi, phi * mean)
        return rng.poisson(mean).astype(float)
    if kind == "amount":
        return np.exp(theta + noise * rng.standard_normal(theta.size)) * months
    return rng.binomial(trials, theta).astype(float)
