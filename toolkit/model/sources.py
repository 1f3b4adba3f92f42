"""Sources: digests of the documents that evidence cites (``seeds/<case>/*.yaml``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.core.errors import Problem
from toolkit.core.validation import pydantic_problems
from toolkit.core.yamlio import check_schema_version, line_of, load_yaml, to_plain


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceInfo(_Strict):
    """Bibliographic facts about a source document, as best known."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    date: str | int | dt.date = Field(description="YYYY, YYYY-MM or YYYY-MM-DD, as best known")
    url: str | None = None
    notes: str = ""


class Claim(_Strict):
    """One claim or figure of a source, summarised in our own words."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    summary: str = Field(min_length=1)
    figures: list[str] = Field(default_factory=list)


class SourceDigest(_Strict):
    """The contents of one ``seeds/<case>/<source>.yaml`` file."""

    schema_version: int
    source: SourceInfo
    claims: list[Claim] = Field(min_length=1)


def load_sources(folder: Path, shown_folder: str) -> tuple[list[SourceDigest], list[Problem]]:
    """Load every source digest in ``folder``.

    Parameters
    ----------
    folder : Path
        ``seeds/<case>/``.
    shown_folder : str
        How the folder is named in messages.

    Returns
    -------
    tuple
        ``(digests, problems)``; digests of files with problems are left out.
    """
    problems: list[Problem] = []
    digests: list[SourceDigest] = []
    if not folder.is_dir():
        return [], [Problem(shown_folder, None, "", "folder is missing",
                            "create it with one YAML digest per source (see docs/formats.md)")]
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        return [], [Problem(shown_folder, None, "", "holds no source digest (*.yaml)",
                            "add one YAML digest per source (see docs/formats.md)")]
    seen: dict[str, str] = {}
    for path in files:
        shown = f"{shown_folder}/{path.name}"
        document, found = load_yaml(path, shown)
        if document is None:
            problems.extend(found)
            continue
        version_problems = check_schema_version(document, shown)
        if version_problems:
            problems.extend(version_problems)
            continue
        try:
            digest = SourceDigest.model_validate(to_plain(document))
        except ValidationError as exc:
            problems.extend(pydantic_problems(exc, document, shown))
            continue
        for index, claim in enumerate(digest.claims):
            if claim.id in seen:
                problems.append(Problem(
                    shown, line_of(document, ("claims", index, "id")), f"claims[{index}].id",
                    f"duplicate claim id {claim.id!r} (also in {seen[claim.id]})",
                    "give every claim of the case a unique id",
                ))
            seen[claim.id] = shown
        digests.append(digest)
    return digests, problems
