"""Shared fixtures: the repository's bundled case, scratch copies of it, figure cleanup."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from toolkit.case import Case, load_case  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CASE = "russia-iran"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (it holds priors/, evidence/, seeds/)."""
    return REPO


@pytest.fixture(scope="session")
def bundled_case() -> Case:
    """The bundled Russia-Iran case, loaded once per session (read-only)."""
    return load_case(REPO, CASE)


@pytest.fixture
def case_root(tmp_path: Path) -> Path:
    """A scratch copy of the bundled case's files that a test may change."""
    for sub in ("priors", "evidence"):
        (tmp_path / sub).mkdir()
    shutil.copy(REPO / "priors" / f"{CASE}.yaml", tmp_path / "priors")
    shutil.copy(REPO / "evidence" / f"{CASE}.csv", tmp_path / "evidence")
    shutil.copytree(REPO / "seeds" / CASE, tmp_path / "seeds" / CASE)
    return tmp_path


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
