"""Latent rate paths: offsets equal the exact engine's without a walk; the walk's knots."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.families.observation import Observation
from toolkit.inference.smc.paths import PathDesign, offsets
from toolkit.model.trajectory import Drift

DRIFT = Drift(t0=300.0, sigma=0.4, path=((280.0, 0.3), (310.0, -0.2)))


def _obs(start: float, end: float, reading: str = "total") -> Observation:
    return Observation("a", "x", end - start, 3, 3, 1.0, reading=reading, start=start, end=end)


@pytest.mark.parametrize(("start", "end"), [(295.0, 305.5), (270.0, 320.0), (301.0, 301.5)])
def test_offsets_equal_the_trajectory_model_without_a_walk(start, end):
    obs = _obs(start, end)
    design = PathDesign.for_observations(DRIFT, [obs])
    assert design.dims == 2 and design.wanders
    z = np.random.default_rng(1).standard_normal((7, design.dims))
    slopes = DRIFT.sigma * z[:, 1]
    rate, event = offsets(design, design.reading(obs, True), z)
    np.testing.assert_allclose(rate, DRIFT.offsets(slopes, start, end), atol=1e-12)
    assert np.all(event == 0)
    point, _ = offsets(design, design.reading(obs, False), z)  # shares: the midpoint
    np.testing.assert_allclose(point, DRIFT.offsets(slopes, start, end, False), atol=1e-12)


def test_a_logged_event_reads_the_rate_before_it_and_at_its_own_time():
    obs = _obs(290.0, 299.0, "events")
    design = PathDesign.for_observations(DRIFT, [obs])
    z = np.random.default_rng(2).standard_normal((5, design.dims))
    rate, event = offsets(design, design.reading(obs, True), z)
    slopes = DRIFT.sigma * z[:, 1]
    np.testing.assert_allclose(rate, DRIFT.offsets(slopes, 290.0, 299.0), atol=1e-12)
    np.testing.assert_allclose(event, DRIFT.offsets(slopes, 299.0, 299.0, False), atol=1e-12)


def test_the_walk_is_a_sum_of_monthly_steps_linear_between_knots():
    drift = Drift(t0=300.0, sigma=0.0, walk=0.1)
    design = PathDesign.for_observations(drift, [_obs(292.5, 306.2)])
    assert (design.right, design.left) == (8, 9) and not design.wanders
    assert design.dims == 18 and design.walk_from == 1  # a slope that cannot move is no coordinate
    steps = np.arange(1.0, 18.0)
    rows = design.walk_rows(np.array([300.0, 301.0, 302.5, 299.0, 297.25]))
    right, left = steps[:8], steps[8:]
    expected = 0.1 * np.array([0.0, right[0], right[0] + right[1] + 0.5 * right[2], left[0],
                               left[0] + left[1] + 0.75 * left[2]])
    np.testing.assert_allclose(rows @ steps, expected)


def test_a_period_average_over_the_walk_matches_fine_quadrature():
    drift = Drift(t0=300.0, sigma=0.3, walk=0.2)
    obs = _obs(296.3, 303.9)
    design = PathDesign.for_observations(drift, [obs])
    z = np.random.default_rng(3).standard_normal((4, design.dims))
    rate, _ = offsets(design, design.reading(obs, True), z)
    t = np.linspace(296.3, 303.9, 200_001)
    v = (drift.sigma * z[:, 1:2]) * (t - 300.0) / 12 + z[:, 2:] @ design.walk_rows(t).T
    brute = np.log(np.trapezoid(np.exp(v), t, axis=1) / (303.9 - 296.3))
    np.testing.assert_allclose(rate, brute, atol=1e-9)
