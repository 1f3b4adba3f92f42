"""Batched adaptive log-space quadrature against integrals known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from toolkit.families.observation import Observation
from toolkit.inference.engines.exact import Task, log_marginal, solve
from toolkit.inference.quadrature import log_integral, log_integral_batch


def log_gauss(u: np.ndarray, mean: float, sd: float, height: float = 0.0) -> np.ndarray:
    return height - 0.5 * ((u - mean) / sd) ** 2


@pytest.mark.parametrize("sd", [1e-5, 1e-3, 0.1, 1.0, 30.0, 1e3])
@pytest.mark.parametrize("mean", [-200.0, 0.0, 3.5, 150.0])
def test_gaussian_integrals_anywhere(mean: float, sd: float) -> None:
    # the first guess [-1, 1] neither contains nor matches the integrand
    got = log_integral(lambda u: log_gauss(u, mean, sd, height=-500.0), -1.0, 1.0)
    assert got == pytest.approx(-500.0 + math.log(sd * math.sqrt(2 * math.pi)), abs=1e-10)


def test_batch_rows_are_independent() -> None:
    means = np.array([0.0, -40.0, 7.0, 1e3])
    sds = np.array([1.0, 1e-4, 5.0, 0.3])
    seen_rows: list[np.ndarray] = []

    def log_f(grid: np.ndarray, rows: np.ndarray) -> np.ndarray:
        seen_rows.append(rows.copy())
        return -0.5 * ((grid - means[rows, None]) / sds[rows, None]) ** 2

    got = log_integral_batch(log_f, np.zeros(4), np.ones(4))
    assert got == pytest.approx(np.log(sds * math.sqrt(2 * math.pi)), abs=1e-10)
    assert all(set(r) <= {0, 1, 2, 3} for r in seen_rows)


@pytest.mark.parametrize("steep", [1.0, 30.0, 1e3, 1e4])
@pytest.mark.parametrize("edge", [-2.0, 0.0, 1.5])
def test_cliff_shaped_integrand(steep: float, edge: float) -> None:
    # E[Phi(k (c - X))] for X ~ N(0, 1) is Phi(k c / sqrt(1 + k^2)): a prior cut off by a
    # censored likelihood whose cliff is far narrower than the prior (a Poisson bound B
    # gives a cliff of width about 1/sqrt(B) in log rate, so k = 1e4 is B = 1e8)
    def log_f(u: np.ndarray) -> np.ndarray:
        return stats.norm.logpdf(u) + special.log_ndtr(steep * (edge - u))

    expected = special.log_ndtr(steep * edge / math.sqrt(1 + steep**2))
    assert log_integral(log_f, -1.0, 1.0) == pytest.approx(expected, abs=1e-9, rel=1e-9)


def test_long_one_sided_tail() -> None:
    # Gamma(0.3, 1) density of u = log(rate): the left tail decays only like exp(0.3 u)
    alpha = 0.3

    def log_f(u: np.ndarray) -> np.ndarray:
        return alpha * u - np.exp(u) - special.gammaln(alpha)

    assert log_integral(log_f, 0.0, 1.0) == pytest.approx(0.0, abs=1e-10)


def test_zero_integrand_gives_minus_infinity() -> None:
    got = log_integral_batch(lambda grid, rows: np.full(grid.shape, -np.inf), [0.0], [1.0])
    assert got[0] == -np.inf


def test_engine_batches_mixed_tasks_like_single_ones() -> None:
    observations = [
        Observation("A", "x", 13.0, 200.0, 900.0, 0.72),
        Observation("B", "x", 0.66, 200.0, math.inf, 0.42),
        Observation("C", "x", 0.03, 11.0, math.inf, 0.55),
        Observation("D", "x", 2.0, 40.0, 40.0, 1.0),
        Observation("E", "y", 12.0, 0.5, 3.0, 0.9),
    ]
    tasks = [
        Task("count", (1.2, 0.0049), (0,)),
        Task("count", (1.2, 0.0049), (0, 1, 2)),
        Task("count", (3.0, 0.1), (0, 1, 2, 3)),
        Task("count", (0.8, 2.0), (3,)),
        Task("amount", (0.1, 0.8, 0.35), (4,)),
        Task("count", (0.5, 0.02), ()),
    ]
    batched = solve(tasks, observations)
    for task, value in zip(tasks, batched, strict=True):
        alone = log_marginal(task.kind, task.params, [observations[i] for i in task.items])
        assert value == pytest.approx(alone, abs=1e-9)
    assert batched[-1] == 0.0
    assert np.all(np.isfinite(batched))
