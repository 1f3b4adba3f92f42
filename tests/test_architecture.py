"""ARCHITECTURE.md's module map stays true: every module and package is listed."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_module_and_package_is_in_the_module_map() -> None:
    text = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    package = REPO / "toolkit"
    missing = [
        f"toolkit/{p.name}" for p in sorted(package.glob("*.py"))
        if p.name not in ("__init__.py", "__main__.py") and f"toolkit/{p.name}" not in text
    ]
    missing += [
        f"toolkit/{p.name}/" for p in sorted(package.iterdir())
        if p.is_dir() and (p / "__init__.py").exists() and f"toolkit/{p.name}/" not in text
        and not any(f"toolkit/{p.name}/{m.name}" in text for m in p.glob("*.py"))
    ]
    assert not missing, f"add these to ARCHITECTURE.md's module map: {missing}"
