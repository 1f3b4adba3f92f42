"""Inference engines.

Each returns, for every evidence item in report order and every scenario, the item's
incremental log marginal likelihood ``log p(item | earlier items,
scenario)``; :mod:`toolkit.outputs.forecast` turns those into probabilities, trail and attribution.
"""

from __future__ import annotations

from toolkit.inference.engines.base import Engine, EngineResult, get_engine

__all__ = ["Engine", "EngineResult", "get_engine"]
