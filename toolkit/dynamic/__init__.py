"""Regime dynamics: how the relationship moves between scenarios month by month.

The static model asks which scenario best explains all the evidence; the dynamic model lets
the scenario (the *regime*) change from month to month as a hidden Markov chain, so it can
say how likely each regime is at the horizon and whether the target regime is reached before
it. One module per concept:

* :mod:`~toolkit.dynamic.transitions` - the transition prior in analysts' terms
  (``dynamics:`` in the priors file);
* :mod:`~toolkit.dynamic.emissions` - the evidence on a monthly grid (collapsed emissions);
* :mod:`~toolkit.dynamic.forward` - the forward algorithm (PyTensor and NumPy);
* :mod:`~toolkit.dynamic.model` - the PyMC model, compiled once per structure;
* :mod:`~toolkit.dynamic.forecast` - :func:`run_dynamic` and :class:`DynamicForecast`;
* :mod:`~toolkit.dynamic.summary` - diagnostics and the JSON form.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DynamicForecast", "run_dynamic"]


def __getattr__(name: str) -> Any:
    """Import the PyMC-backed parts only when used (loading a case must stay cheap)."""
    if name in __all__:
        from toolkit.dynamic import forecast

        return getattr(forecast, name)
    raise AttributeError(f"module 'toolkit.dynamic' has no attribute {name!r}")
