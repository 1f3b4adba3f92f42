"""Parameter posteriors: grid posteriors of mixed items resolve narrow bulks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from toolkit.families import family_for
from toolkit.families.observation import Observation
from toolkit.inference.posteriors import parameter_posterior


def _mixed_events(n: int, rng: np.random.Generator) -> list[Observation]:
    return [Observation(f"e{i}", "x", float(rng.exponential(1 / 3.0)), 1.0, 1.0, 0.8,
                        reading="events", mixture=True, log_ref=math.log(2.0))
            for i in range(n)]


def test_a_mixed_posterior_pinned_by_many_events_matches_a_fine_grid() -> None:
    """5,000 logged events pin the log rate to +-0.015: far narrower than a grid that
    spans the prior (it held two nodes before)."""
    params = (2.0, 1.0)
    observations = _mixed_events(5000, np.random.default_rng(0))
    post = parameter_posterior("count", params, observations)
    mean = float(post.weights @ post.nodes)
    sd = math.sqrt(float(post.weights @ (post.nodes - mean) ** 2))
    family = family_for("count")
    u = np.linspace(mean - 0.3, mean + 0.3, 60_001)
    log_f = family.log_posterior_u(u, params, observations)
    w = np.exp(log_f - log_f.max())
    w /= w.sum()
    ref_mean = float(w @ u)
    ref_sd = math.sqrt(float(w @ (u - ref_mean) ** 2))
    assert int(np.sum(post.weights > 1e-6)) > 20
    assert mean == pytest.approx(ref_mean, abs=1e-6)
    assert sd == pytest.approx(ref_sd, rel=1e-4)
