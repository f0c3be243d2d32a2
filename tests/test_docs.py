from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sluice.docgen import PAGES

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_generated_page_is_up_to_date(name: str) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8") if (DOCS / name).exists() else ""
    assert committed == PAGES[name](), f"docs/{name} is stale: run `python -m sluice.docgen`"


def test_rules_page_documents_every_rule_of_every_kind() -> None:
    """Lint, trace and check rules: a heading each, its documentation, its row in a table."""
    from sluice.rules.docs import anchor
    from sluice.rules.registry import all_rules

    page = PAGES["rules.md"]()
    for r in all_rules(None).values():
        assert f"### {r.id} `{r.name}`" in page, r.id
        assert r.doc in page, r.id
        assert f"| [{r.id}](#{anchor(f'{r.id} {r.name}')}) | `{r.name}` |" in page, r.id
    assert page.index("## Measured by `sluice trace`") < page.index("## Checks of `sluice check`")


def test_docgen_help_and_a_missing_folder_write_nothing(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sluice.docgen", "--help"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m sluice.docgen")
    missing = tmp_path / "nope"
    done = subprocess.run([sys.executable, "-m", "sluice.docgen", str(missing)], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 2 and f"{missing}: no such folder" in done.stderr
    assert list(tmp_path.iterdir()) == []
