from __future__ import annotations

from pathlib import Path

import pytest

from sluice.docgen import PAGES

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_generated_page_is_up_to_date(name: str) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8") if (DOCS / name).exists() else ""
    assert committed == PAGES[name](), f"docs/{name} is stale: run `python -m sluice.docgen`"
