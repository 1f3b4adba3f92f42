"""``scenarios new``: scaffold a new case."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.core.errors import CaseError
from toolkit.model.case import find_root
from toolkit.store.scaffold import scaffold_case
from toolkit.ui.cli.common import main, user_errors


@main.command("new")
@click.argument("case")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to create the case in (default: the nearest case root upward, "
              "else the current folder).")
@user_errors
def new_command(case: str, root: Path | None) -> None:
    """Scaffold a new CASE whose files validate and whose forecast runs."""
    if root is None:
        try:
            root = find_root()
        except CaseError:
            root = Path(".")
    written = scaffold_case(root, case)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"Next: edit the files, then run 'scenarios forecast {case} --root {root}'.")
