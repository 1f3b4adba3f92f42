"""Sweeps: scenario probabilities over a grid or random design of prior quantities.

``--vary PATH=LOW:HIGH:N`` names a quantity (:mod:`toolkit.model.variations`) and the values
tried: ``N`` evenly spaced from ``LOW`` to ``HIGH``. A grid design tries every combination;
a random design draws ``points`` settings uniformly inside the ranges (seeded). The result is
a tidy table, one row per setting: the inputs, then one probability column per scenario and
the leading scenario. Points run in chunks through :class:`toolkit.outputs.tasks.Runner`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.core.atomic import atomic_path
from toolkit.model.case import Case
from toolkit.model.variations import vary
from toolkit.outputs.tasks import Runner, variants_for

#: Points per task: large enough to amortise a task's overhead, small enough for progress.
CHUNK = 25
#: The most settings one sweep may try (a grid grows as the product of its axes).
MAX_POINTS = 200_000
_AXIS = re.compile(r"^(?P<path>[A-Za-z0-9_.]+)=(?P<low>[^:]+):(?P<high>[^:]+)(?::(?P<n>\d+))?$")


@dataclass(frozen=True)
class Axis:
    """One varied quantity: its path and the values tried."""

    path: str
    low: float
    high: float
    count: int

    @property
    def values(self) -> np.ndarray:
        """The grid values: ``count`` evenly spaced from ``low`` to ``high`` (12 digits)."""
        return np.array([float(f"{v:.12g}") for v in np.linspace(self.low, self.high,
                                                                   self.count)])


def parse_axis(text: str) -> Axis:
    """``PATH=LOW:HIGH:N`` (``N`` defaults to 11) as an :class:`Axis`.

    Raises
    ------
    ValueError
        Naming what is wrong and the form to use.
    """
    match = _AXIS.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not PATH=LOW:HIGH:N (for example "
                         "scenarios.drift.weight=0.1:0.5:9)")
    try:
        low, high = float(match["low"]), float(match["high"])
    except ValueError:
        raise ValueError(f"{text!r}: LOW and HIGH must be numbers") from None
    count = int(match["n"] or 11)
    if not (np.isfinite(low) and np.isfinite(high)) or low >= high:
        raise ValueError(f"{text!r}: LOW must be a finite number below HIGH")
    if not 2 <= count <= 10_000:
        raise ValueError(f"{text!r}: N must be from 2 to 10000")
    return Axis(match["path"], low, high, count)


def design(axes: list[Axis], form: str = "grid", points: int | None = None,
           seed: int = 0) -> list[dict[str, float]]:
    """The settings a sweep tries (see the module docstring).

    Raises
    ------
    ValueError
        If the design is unknown, empty, or larger than :data:`MAX_POINTS`.
    """
    if form == "grid":
        total = int(np.prod([a.count for a in axes]))
        if total > MAX_POINTS:
            raise ValueError(f"the grid has {total} points, more than {MAX_POINTS}; use "
                             "fewer values per axis or --design random")
        return [dict(zip([a.path for a in axes], map(float, values), strict=True))
                for values in itertools.product(*(a.values for a in axes))]
    if form == "random":
        if points is None or not 1 <= points <= MAX_POINTS:
            raise ValueError(f"a random design needs --points from 1 to {MAX_POINTS}")
        rng = np.random.default_rng(seed)
        draws = rng.uniform([a.low for a in axes], [a.high for a in axes],
                            size=(points, len(axes)))
        return [dict(zip([a.path for a in axes], map(float, row), strict=True))
                for row in draws]
    raise ValueError(f"unknown design {form!r}; use grid or random")


def _chunk(shared: dict[str, Any], settings: list[dict[str, float]]) -> list[list[float]]:
    """Scenario probabilities of each setting (runs on a worker, or here)."""
    variants = variants_for(shared)
    return [variants.probabilities(changes).tolist() for changes in settings]


def sweep(case: Case, settings: list[dict[str, float]], as_of: dt.date | None = None,
          engine: str = "exact", seed: int | None = None,
          runner: Runner | None = None) -> pd.DataFrame:
    """Scenario probabilities of every setting, as a tidy table.

    Parameters
    ----------
    case : Case
        The case.
    settings : list of dict
        Path-to-value changes, one dict per row (:func:`design`).
    as_of : date, optional
        Evidence reported on or before this date counts (default: today).
    engine : {"exact", "pymc"}
        The engine of every forecast.
    seed : int, optional
        Seed of the PyMC engine.
    runner : Runner, optional
        Where the chunks run (default: serially in this process).

    Returns
    -------
    DataFrame
        The inputs, one ``p_<scenario>`` column per scenario, and ``leading``.

    Raises
    ------
    CaseError
        If a setting is invalid (checked before any work is sent out).
    """
    for changes in settings:
        vary(case, changes)  # every setting is valid before any work is sent out
    as_of = as_of or dt.date.today()
    shared = {"case": case, "as_of": as_of, "engine": engine, "seed": seed}
    chunks = [settings[i:i + CHUNK] for i in range(0, len(settings), CHUNK)]
    if runner is None:
        with Runner("serial") as serial:
            rows = serial.map(_chunk, shared, chunks)
    else:
        rows = runner.map(_chunk, shared, chunks)
    ids = case.priors.scenario_ids
    table = pd.DataFrame(settings)
    probabilities = pd.DataFrame(rows, columns=[f"p_{sid}" for sid in ids])
    table = pd.concat([table, probabilities], axis=1)
    table["leading"] = [ids[int(np.argmax(row))] for row in rows]
    return table


def write_table(table: pd.DataFrame, path: Path) -> Path:
    """Write ``table`` atomically as CSV or Parquet (by ``path``'s suffix)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"{path}: the table is written as .csv or .parquet")
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    return path
