"""Where a Python module's pytest files live: the ones it may already have, and a new one.

This module imports the standard library only.
"""

from __future__ import annotations

from pathlib import Path


def candidate_test_files(module: Path) -> list[Path]:
    """Where a module's tests may already live, most likely first."""
    stem = module.stem
    names = (f"test_{stem}.py", f"{stem}_test.py")
    folders = [module.parent, module.parent / "tests", module.parent / "test"]
    for parent in list(module.parents)[1:4]:
        folders.extend((parent / "tests", parent / "test"))
    seen: list[Path] = []
    for folder in folders:
        for name in names:
            candidate = folder / name
            if candidate not in seen:
                seen.append(candidate)
    return seen


def new_test_file(module: Path) -> Path:
    """The test file to create beside a module that has none."""
    return module.with_name(f"test_{module.stem}.py")
