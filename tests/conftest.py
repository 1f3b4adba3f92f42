"""Shared fixtures: the repository's bundled case, scratch copies of it, figure cleanup."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from toolkit.model.case import Case, load_case  # noqa: E402

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


@pytest.fixture(scope="session")
def tempered_bundled_case() -> Case:
    """The bundled case read with ``reliability_reading: tempered`` (what NUTS runs)."""
    text = (REPO / "priors" / f"{CASE}.yaml").read_text(encoding="utf-8")
    return load_case(REPO, CASE, priors_text=text + "\nreliability_reading: tempered\n")


@pytest.fixture
def case_root(tmp_path: Path) -> Path:
    """A scratch copy of the bundled case's files that a test may change."""
    for sub in ("priors", "evidence"):
        (tmp_path / sub).mkdir()
    shutil.copy(REPO / "priors" / f"{CASE}.yaml", tmp_path / "priors")
    shutil.copy(REPO / "evidence" / f"{CASE}.csv", tmp_path / "evidence")
    shutil.copytree(REPO / "seeds" / CASE, tmp_path / "seeds" / CASE)
    return tmp_path


def _analyst_outputs() -> set[str]:
    """Everything in the repository's own ``runs/`` and ``reports/`` folders."""
    return {str(p.relative_to(REPO)) for folder in ("runs", "reports") if (REPO / folder).exists()
            for p in (REPO / folder).rglob("*")}


@pytest.fixture(scope="session", autouse=True)
def _leave_the_analysts_folders_alone():
    """Tests must not add runs or reports to the analyst's history (use --no-save or tmp)."""
    before = _analyst_outputs()
    yield
    added = sorted(_analyst_outputs() - before)
    assert not added, f"the tests wrote into the repository's own folders: {added[:5]}"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
