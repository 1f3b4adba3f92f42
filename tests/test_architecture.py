"""ARCHITECTURE.md stays true: the module map, the layers, kind maths only in families."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "toolkit"
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if p.name not in ("__init__.py", "__main__.py"))


def test_every_module_is_in_the_module_map() -> None:
    text = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = []
    for path in _modules():
        rel = path.relative_to(PACKAGE).as_posix()
        folder = rel.rsplit("/", 1)[0] + "/"
        row = next((line for line in text.splitlines() if f"`{folder}`" in line), "")
        if f"`{rel}`" not in text and f"`{path.stem}`" not in row:
            missing.append(rel)
    assert not missing, f"add these to ARCHITECTURE.md's module map: {missing}"


def test_no_module_outside_the_families_branches_on_the_kind() -> None:
    pattern = re.compile(r"\bkind\s*(==|!=|in\s*\()|\.kind\s*(==|!=)")
    offenders = [f"{p.relative_to(REPO)}:{n}" for p in _modules()
                 if "families" not in p.parts
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert not offenders, f"kind-specific code belongs in toolkit/families: {offenders}"


def test_no_module_is_over_400_lines() -> None:
    long = {p.relative_to(REPO).as_posix(): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules: {long}"


def test_the_tests_mirror_the_package_tree() -> None:
    layers = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    folders = {p.name for p in (REPO / "tests").iterdir() if p.is_dir() and p.name != "data"
               and not p.name.startswith((".", "__"))}
    assert folders <= layers, f"test folders without a package layer: {folders - layers}"
    assert list((REPO / "tests").glob("test_*.py")) == [REPO / "tests" / "test_architecture.py"]


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(lint), "--no-cache"], cwd=root, env=env, capture_output=True,
                          text=True, check=False)


def test_the_layer_contract_holds_and_fails_on_an_upward_import(tmp_path: Path) -> None:
    assert _lint_imports(REPO).returncode == 0
    shutil.copytree(PACKAGE, tmp_path / "toolkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    errors = tmp_path / "toolkit" / "core" / "errors.py"
    errors.write_text(errors.read_text(encoding="utf-8") + "\nimport toolkit.ui.cli  # noqa\n",
                      encoding="utf-8")
    done = _lint_imports(tmp_path)
    assert done.returncode == 1
    assert "toolkit.core is not allowed to import toolkit.ui" in done.stdout
