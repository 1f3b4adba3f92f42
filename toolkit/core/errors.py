"""User-facing problems with case files, collected and reported all at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    Parameters
    ----------
    file : str
        Path of the file, as the user would type it.
    line : int or None
        1-based line number in the file, when known.
    field : str
        The field, column or key that is wrong (``scenarios[1].weight``, ``value``).
    message : str
        What is wrong, including the offending value.
    fix : str
        How to fix it, in one short imperative sentence.
    """

    file: str
    line: int | None
    field: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        fix = self.fix if not self.fix or self.fix.endswith((".", "!", "?")) else f"{self.fix}."
        fix = f" Fix: {fix}" if fix else ""
        return f"{where}:{field} {self.message}.{fix}"


class CaseError(Exception):
    """One or more problems found in a case's files; nothing was loaded or written."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def display_path(path: Path, root: Path | None = None) -> str:
    """Return ``path`` relative to ``root`` (or the working folder) when possible."""
    for base in (root, Path.cwd()):
        if base is None:
            continue
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)
