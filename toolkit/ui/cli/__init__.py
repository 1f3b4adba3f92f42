"""The ``scenarios`` command line (``python -m toolkit`` does the same).

Each command group lives in its own module and registers itself on :data:`main`.
User mistakes (bad case files, unknown cases, bad options) exit with code 2 and a message
naming the file, line and field, never a traceback.
"""

from __future__ import annotations

import importlib

from toolkit.ui.cli.common import main

#: Command modules, imported for their side effect of registering commands on ``main``.
COMMAND_MODULES = (
    "toolkit.ui.cli.cases",
    "toolkit.ui.cli.forecasting",
    "toolkit.ui.cli.evidence",
    "toolkit.ui.cli.new",
    "toolkit.ui.cli.report",
    "toolkit.ui.cli.history",
    "toolkit.ui.cli.backtest",
    "toolkit.ui.cli.watch",
    "toolkit.ui.cli.sensitivity",
)

for _module in COMMAND_MODULES:
    importlib.import_module(_module)

__all__ = ["main"]
