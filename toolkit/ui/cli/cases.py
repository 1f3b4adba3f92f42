"""``scenarios cases``: list the cases under the root."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.model.case import list_cases
from toolkit.ui.cli.common import main, resolve_root, root_option, user_errors


@main.command("cases")
@root_option
@user_errors
def cases_command(root: Path | None) -> None:
    """List the cases found under the root."""
    folder = resolve_root(root)
    names = list_cases(folder)
    if not names:
        click.echo(f"No cases under {folder}/priors. Create one with 'scenarios new NAME'.")
        return
    for name in names:
        click.echo(name)
