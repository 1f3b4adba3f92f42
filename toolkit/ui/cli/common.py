"""Shared pieces of the command line: the root group, ``--root``, dates and error handling."""

from __future__ import annotations

import datetime as dt
import functools
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from toolkit import __version__
from toolkit.core.errors import CaseError, Problem
from toolkit.core.validation import iso_date
from toolkit.model.case import Case, find_root, load_case

EXIT_USER_ERROR = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scenarios")
def main() -> None:
    """Bayesian scenario forecasting: priors, evidence, forecasts, reports."""


def root_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--root DIR`` (default: nearest folder upward holding ``priors/``)."""
    return click.option(
        "--root", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Folder holding priors/, evidence/ and seeds/ (default: nearest one upward).",
    )(func)


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Report :class:`CaseError` as plain lines on stderr and exit with code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CaseError as exc:
            count = len(exc.problems)
            click.echo(f"error: {count} problem{'s' if count != 1 else ''} found:", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(EXIT_USER_ERROR)

    return wrapper


def resolve_root(root: Path | None) -> Path:
    """Return ``root`` or the nearest folder upward holding ``priors/``."""
    if root is not None:
        if not (root / "priors").is_dir():
            raise CaseError([_no_priors(root)])
        return root
    return find_root()


def _no_priors(root: Path) -> Problem:
    return Problem(str(root), None, "--root", "holds no priors/ folder",
                   "point --root at the folder holding priors/, evidence/ and seeds/")


def open_case(root: Path | None, name: str) -> Case:
    """Resolve the root and load the named case (raises :class:`CaseError`)."""
    return load_case(resolve_root(root), name)


class DateType(click.ParamType):
    """A ``YYYY-MM-DD`` date option."""

    name = "DATE"

    def convert(self, value: Any, param: Any, ctx: Any) -> dt.date:
        """Parse the option value."""
        if isinstance(value, dt.date):
            return value
        try:
            return iso_date(str(value))  # no week dates, no 20240101
        except ValueError:
            self.fail(f"{value!r} is not a date; write it as YYYY-MM-DD", param, ctx)


class LevelType(click.ParamType):
    """A credible-interval probability from 0.5 to 0.99 (``nan`` refused)."""

    name = "LEVEL"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        """Parse the option value."""
        try:
            level = float(value)
        except (TypeError, ValueError):
            level = math.nan
        if not 0.5 <= level <= 0.99:  # false for nan too
            self.fail(f"{value!r} is not a probability from 0.5 to 0.99; e.g. 0.9", param, ctx)
        return level


DATE = DateType()
LEVEL_TYPE = LevelType()
#: Seeds are saved in the run history (SQLite integers): 0 to 2**63 - 1.
SEED = click.IntRange(0, 2**63 - 1)
