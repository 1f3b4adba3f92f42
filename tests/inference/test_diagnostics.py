"""One convergence gate: thresholds, NaN handling, and the same JSON keys for both samplers."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from toolkit.core.defaults import ESS_MIN, R_HAT_MAX
from toolkit.inference.diagnostics import chain_diagnostics, engine_diagnostics, gate

KEYS = {"converged", "problems", "r_hat_max", "ess_bulk_min", "ess_tail_min", "divergences",
        "thresholds"}


def test_the_gate_passes_at_the_thresholds_and_names_each_failure() -> None:
    ok = gate(R_HAT_MAX, ESS_MIN, ESS_MIN, 0)
    assert ok["converged"] and ok["problems"] == []
    assert ok["thresholds"] == {"r_hat_max": 1.01, "ess_min": 400, "divergences": 0}
    bad = gate(1.05, 120.0, 900.0, 3)
    assert not bad["converged"]
    assert bad["problems"] == ["r_hat 1.050 > 1.01", "ESS 120 < 400", "3 divergent transitions"]


def test_a_nan_statistic_fails_its_check() -> None:
    assert gate(math.nan, 1000.0, 1000.0, 0)["problems"] == ["r_hat nan > 1.01"]
    assert not gate(1.0, math.nan, 1000.0, 0)["converged"]


def test_both_samplers_report_the_gate_keys() -> None:
    rng = np.random.default_rng(sum(map(ord, "diagnostics")))
    draws = rng.standard_normal((4, 500))
    posterior = SimpleNamespace(monitored={"a": draws, "b": draws[:, ::-1] + 1.0},
                                divergences=0)
    dynamic = chain_diagnostics(posterior, {}, "test model")
    assert KEYS <= set(dynamic) and dynamic["checked"] == ["a", "b"]
    assert dynamic["converged"] and dynamic["r_hat_max"] < 1.01 and dynamic["ess_bulk_min"] > 1000
    estimate = SimpleNamespace(mcse=np.array([0.01]), khat=np.array([0.2]))
    z = {"gamma_poisson": rng.standard_normal((4, 500, 8))}
    engine = engine_diagnostics(z, [3], np.zeros((4, 500), bool), {"gamma_poisson": estimate})
    assert KEYS <= set(engine) and engine["converged"]
    assert engine["marginal_khat_max"] == 0.2 and engine["thresholds"]["khat_max"] == 0.7
    worse = engine_diagnostics(z, [3], np.zeros((4, 500), bool),
                               {"gamma_poisson": SimpleNamespace(mcse=np.array([0.2]),
                                                                 khat=np.array([0.9]))})
    assert worse["problems"] == ["importance-sampling khat 0.90 > 0.7",
                                 "marginal-likelihood MCSE 0.200 > 0.05"]
    assert not worse["converged"]
