"""Widget dashboards for notebooks and Voila: the forecast dashboard and its pieces.

Modules: :mod:`~toolkit.ui.dashboard.whatif` (edits kept apart from the files),
:mod:`~toolkit.ui.dashboard.views` (live HTML/SVG views), :mod:`~toolkit.ui.dashboard.controls`
(input widgets), :mod:`~toolkit.ui.dashboard.debounce` (one redraw per burst of changes),
:mod:`~toolkit.ui.dashboard.app` (the :class:`Dashboard` wiring them).
"""

from __future__ import annotations

import os
from pathlib import Path

from toolkit.model.case import find_root
from toolkit.ui.dashboard.app import Dashboard

#: Environment variable naming the case root for notebooks (tests and Voila use it).
ROOT_VARIABLE = "SCENARIO_TOOLKIT_ROOT"


def notebook_root(explicit: str | Path | None = None) -> Path:
    """The case root a notebook should use.

    Parameters
    ----------
    explicit : str or Path, optional
        A root given as a notebook parameter; wins when set.

    Returns
    -------
    Path
        ``explicit``, else ``$SCENARIO_TOOLKIT_ROOT``, else the nearest folder upward from
        the notebook's working folder that holds ``priors/``.
    """
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get(ROOT_VARIABLE):
        return Path(os.environ[ROOT_VARIABLE]).expanduser().resolve()
    return find_root(Path.cwd())


__all__ = ["ROOT_VARIABLE", "Dashboard", "notebook_root"]
