"""JSON that other programs can read: non-finite numbers are written as ``null``.

Python's :func:`json.dumps` writes ``NaN`` and ``Infinity``, which are not JSON; a
one-chain sampler's statistics or an empty diagnostic would then make ``--json`` output and
saved manifests unreadable by strict parsers. :func:`dumps` replaces every non-finite float
(NumPy's included) by ``None`` and refuses any that remain.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def finite_or_none(value: Any) -> Any:
    """``value`` with every non-finite float, at any depth, replaced by ``None``."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def dumps(value: Any, **options: Any) -> str:
    """:func:`json.dumps` of ``value`` with non-finite numbers as ``null``."""
    return json.dumps(finite_or_none(value), allow_nan=False, **options)
