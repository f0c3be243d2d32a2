"""No module under src/sluice grows past 500 lines (a ratchet, like ruff's C901 limit)."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "sluice"
LIMIT = 500


def test_no_module_is_over_500_lines() -> None:
    long = sorted(
        f"{path.relative_to(SRC.parent)}: {count} lines"
        for path in SRC.rglob("*.py")
        if ".fixtures" not in path.parts[-2]
        and (count := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    )
    assert not long, "split these modules:\n" + "\n".join(long)


def test_the_limit_sees_modules() -> None:
    assert sum(1 for _ in SRC.rglob("*.py")) > 100
