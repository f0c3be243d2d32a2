"""The documentation site: every page in the nav, and `mkdocs build --strict` failing on
broken links, stray pages and bad anchors (scripts/test runs it on docs/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import REPO

MKDOCS = Path(sys.executable).parent / "mkdocs"
pytestmark = pytest.mark.skipif(not MKDOCS.exists(),
                                reason="mkdocs is not installed (pip install -e '.[docs]')")


def nav_pages(nav: Any) -> list[str]:
    """Every page file named in a MkDocs nav (nested sections included)."""
    out: list[str] = []
    items = nav if isinstance(nav, list) else [nav]
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                out.extend(nav_pages(value))
    return [p for p in out if "://" not in p]


def site_config() -> dict[str, Any]:
    return yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))


def test_every_docs_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    config = site_config()
    docs = REPO / config.get("docs_dir", "docs")
    pages = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md"))
    in_nav = nav_pages(config["nav"])
    missing = [p for p in pages if p not in in_nav]
    assert not missing, f"docs pages missing from mkdocs.yml nav: {missing}"
    dangling = [p for p in in_nav if not (docs / p).is_file()]
    assert not dangling, f"mkdocs.yml nav entries without a page: {dangling}"
    assert len(in_nav) == len(set(in_nav)), "a page is listed twice in the nav"


def test_generated_pages_are_in_the_site() -> None:
    from sluice.docgen import PAGES

    assert set(PAGES) <= set(nav_pages(site_config()["nav"]))


def build(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(root / "site")], cwd=root,
        capture_output=True, text=True, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"})


def test_the_repository_docs_build_strict(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=REPO,
        capture_output=True, text=True, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"})
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "site" / "lint" / "index.html").read_text(encoding="utf-8")
    # a link out of docs/ becomes a link to the file in the repository
    assert f"{site_config()['repo_url']}/blob/main/src/sluice/core/ops.py" in page


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A small site with the repository's mkdocs.yml settings and hook."""
    config = site_config()
    config["nav"] = [{"Home": "index.md"}, {"Other": "other.md"}]
    config["hooks"] = [str(REPO / "scripts" / "mkdocs_hooks.py")]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the other page](other.md#details).\n")
    (docs / "other.md").write_text("# Other\n\n## Details\n\nText.\n")
    (tmp_path / "tool.py").write_text("x = 1\n")
    return tmp_path


def test_a_clean_site_builds(site: Path) -> None:
    (site / "docs" / "other.md").write_text("# Other\n\n## Details\n\n[code](../tool.py)\n")
    out = build(site)
    assert out.returncode == 0, out.stderr
    html = (site / "site" / "other" / "index.html").read_text(encoding="utf-8")
    assert f"{site_config()['repo_url']}/blob/main/tool.py" in html


@pytest.mark.parametrize("text, complaint", [
    ("[gone](missing.md)", "missing.md"),
    ("[gone](other.md#no-such-heading)", "no-such-heading"),
    ("[gone](../no_such_file.py)", "no_such_file.py"),
], ids=["missing-page", "missing-anchor", "missing-repository-file"])
def test_broken_links_fail_the_build(site: Path, text: str, complaint: str) -> None:
    (site / "docs" / "index.md").write_text(f"# Home\n\n{text}\n")
    out = build(site)
    assert out.returncode != 0
    assert complaint in out.stderr and "Aborted" in out.stdout + out.stderr


def test_a_page_missing_from_the_nav_fails_the_build(site: Path) -> None:
    (site / "docs" / "stray.md").write_text("# Stray\n")
    out = build(site)
    assert out.returncode != 0
    assert "stray.md" in out.stderr
