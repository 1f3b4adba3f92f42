"""The bulk-locating grid step: widen towards the mass, settle, report the bulk's indices."""

from __future__ import annotations

import numpy as np

from toolkit.core.grids import bulk_round


def test_rows_widen_towards_their_mass_and_settle_around_it() -> None:
    grid = np.linspace(0.0, 10.0, 11)
    values = np.vstack([
        -0.5 * (grid - 5.0) ** 2,        # peak inside, both ends far below: settled
        -0.5 * (grid - 12.0) ** 2,       # mass beyond the right end: widen right
        np.full(11, -np.inf),            # nothing finite: widen both sides
    ])
    step = bulk_round(values, np.zeros(3), np.full(3, 10.0), drop=8.0)
    assert step.settled.tolist() == [True, False, False]
    assert step.empty.tolist() == [False, False, True]
    assert step.lo.tolist() == [0.0, 0.0, -10.0] and step.hi.tolist() == [10.0, 20.0, 20.0]
    # row 0: points with (x - 5)^2 / 2 < 8 are 2..8 (x = 1 and 9 sit exactly at the level)
    assert (step.first[0], step.last[0], step.inside[0]) == (1, 9, 7)
