"""Batched adaptive log-space quadrature against integrals known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from toolkit.families.observation import Observation
from toolkit.inference.engines.exact import Task, log_marginal, solve
from toolkit.inference.quadrature import (
    composite_grid,
    log_integral,
    log_integral_batch,
    log_trapezoid,
    narrow_bulks,
    trapezoid_weights,
)


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


def test_composite_grids_are_quads_refined_only_near_features() -> None:
    grid = composite_grid(-10.0, 10.0, [(1.0, 1e-5), (3.0, 0.01), (-2.0, 1.0)], 513, 41)
    assert (grid.size - 1) % 4 == 0 and np.all(np.diff(grid) > 0)
    assert grid[0] == -10.0 and grid[-1] == 10.0
    near = np.abs(grid - 1.0) < 12e-5
    assert np.diff(grid[near]).max() <= 2 * 12e-5 / 40 * (1 + 1e-9)  # the wanted spacing
    assert grid.size < 513 + 41 * 20  # a tree: tens of points per feature, not a dense band
    wide = np.abs(grid + 2.0) < 1.0  # a feature wider than the step gets no patch
    assert np.allclose(np.diff(grid[wide]), 20 / 512)


def test_a_spike_on_a_plateau_is_integrated_to_1e_9() -> None:
    """0.7 N(0, 1) + 0.3 N(0, 1) x spike of width 1e-4 at 1: a mixed large count."""
    grid = composite_grid(-10.0, 10.0, [(1.0, 1e-4)], 513, 241)  # the exact engine's trail
    base = -0.5 * grid**2
    spike = math.log(0.3) - 0.5 * ((grid - 1) / 1e-4) ** 2 - math.log(1e-4)
    values = np.logaddexp(base + math.log(0.7), base + spike)
    value, error = log_trapezoid(grid, values[None, :])
    width = 1e-4 / math.sqrt(1 + 1e-8)  # the product of the two Gaussians
    exact = math.log(0.7 * math.sqrt(2 * math.pi) + 0.3 * math.sqrt(2 * math.pi) * width / 1e-4
                     * math.exp(-0.5 / (1 + 1e-8)))
    assert value[0] == pytest.approx(exact, abs=1e-9)
    assert abs(value[0] - exact) <= error[0] < 1e-7  # the estimate bounds the error


def test_a_wide_bulk_across_patches_keeps_its_accuracy() -> None:
    """Patches change the spacing inside a wide Gaussian: the trapezoid sum alone loses
    accuracy at each junction (O(h^2)), the estimate chosen (Simpson there) does not."""
    grid = composite_grid(-12.0, 12.0, [(0.3, 0.002), (-1.1, 0.004)], 513, 41)
    values = -0.5 * (grid / 1.5) ** 2
    value, error = log_trapezoid(grid, values[None, :])
    exact = math.log(1.5 * math.sqrt(2 * math.pi))
    fine, _, _ = trapezoid_weights(grid)
    plain = math.log(np.exp(values) @ fine)
    assert abs(plain - exact) > 1e-7  # the junctions' error
    assert abs(value[0] - exact) < abs(plain - exact) / 100
    assert value[0] == pytest.approx(exact, abs=5e-9)
    assert abs(value[0] - exact) <= error[0] < 1e-6  # the estimate bounds the error


def test_narrow_bulks_are_found_and_rounded() -> None:
    grid = np.linspace(-10.0, 10.0, 513)
    step = grid[1] - grid[0]
    values = np.stack([-0.5 * ((grid - 2.0) / 0.01) ** 2, -0.5 * (grid / 2.0) ** 2])
    centre, width, narrow = narrow_bulks(grid, values, trapezoid_weights(grid)[0], step)
    assert narrow.tolist() == [True, False]
    assert width[0] == 2.0 ** math.floor(math.log2(0.25 * step))  # unresolved: step / 4
    assert centre[0] == pytest.approx(2.0, abs=step)


def test_log_integral_on_grids_finds_a_narrow_spike_far_from_the_bulk() -> None:
    """A unit-mass Normal bulk plus a spike of width 1e-4 and mass 1e-3 far away: exact 1.001."""
    from toolkit.inference.quadrature import log_integral_on_grids

    def log_f(u: np.ndarray) -> np.ndarray:
        bulk = -0.5 * u ** 2 - 0.5 * math.log(2 * math.pi)
        spike = -0.5 * ((u - 7.3) / 1e-4) ** 2 - math.log(1e-4 * math.sqrt(2 * math.pi)) \
            + math.log(1e-3)
        return np.logaddexp(bulk, spike)

    got = log_integral_on_grids(log_f, -12.0, 12.0, [(7.3, 1e-4)], 1e-10)
    assert got == pytest.approx(math.log(1.001), abs=1e-9)
    assert log_integral_on_grids(log_f, -12.0, 12.0, [], 1e-10) < math.log(1.0005)  # missed
