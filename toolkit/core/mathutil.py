"""Small numeric helpers (NumPy-only, faster than SciPy's general versions on tiny arrays)."""

from __future__ import annotations

import numpy as np


def logsumexp(values: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """Return ``log(sum(exp(values)))`` along ``axis``, safe for ``-inf`` entries.

    Parameters
    ----------
    values : ndarray
        Log values.
    axis : int, optional
        Axis to reduce; all axes when ``None``.
    keepdims : bool
        Keep the reduced axis with length one.

    Returns
    -------
    ndarray
        The reduction (a NumPy scalar when ``axis`` is ``None``).
    """
    values = np.asarray(values, dtype=float)
    top = np.max(values, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(values - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)
