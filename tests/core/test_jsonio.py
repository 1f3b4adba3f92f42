"""JSON written by the toolkit is valid JSON: non-finite numbers become null."""

from __future__ import annotations

import json
import math

import numpy as np

from toolkit.core.jsonio import dumps


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_nan_and_infinities_become_null_everywhere() -> None:
    value = {"a": math.nan, "b": [1.0, math.inf, {"c": -math.inf}], "d": np.float64("nan"),
             "e": (np.float64(2.5), 3), "f": "nan"}
    assert _strict(dumps(value)) == {"a": None, "b": [1.0, None, {"c": None}], "d": None,
                                     "e": [2.5, 3], "f": "nan"}


def test_finite_values_are_written_as_json_dumps_would() -> None:
    value = {"p": 0.10581183376392503, "n": 17, "ok": True, "s": "x"}
    assert dumps(value, indent=2) == json.dumps(value, indent=2)
