"""A warm ``sluice lint --format json`` writes the kept JSON text of unchanged revisions
(``lint.json``) and encodes only the revisions it analysed again: its document is byte
for byte a cold lint's, also after a configuration change, a duplicated revision id, an
edited revision or a lint from another working folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sluice.core.findings import Finding
from sluice.output import jsonout
from tests.support.cli import run_cli
from tests.support.lint import project


def lint_json(root: Path, *args: str, cwd: Path | None = None) -> str:
    result = run_cli(["lint", "-c", root / "alembic.ini", "--format", "json", *args],
                     cwd=cwd or root)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def cold(root: Path, *args: str, cwd: Path | None = None) -> str:
    return lint_json(root, "--no-cache", *args, cwd=cwd)


def edit(root: Path, name: str) -> None:
    path = root / "migrations" / "versions" / name
    path.write_text(path.read_text() + "# edited\n")


def test_warm_documents_are_a_cold_lints(tmp_path: Path) -> None:
    root = tmp_path / "p"
    project(root, revisions=4)
    first = lint_json(root)  # fills the cache
    assert (root / ".sluice_cache" / "lint.json").is_file()
    assert first == cold(root)
    assert '"path": "migrations/versions/a002.py"' in first
    edit(root, "a002.py")
    assert lint_json(root) == cold(root)
    assert lint_json(root, "--all-findings") == cold(root, "--all-findings")
    assert lint_json(root) == cold(root)  # nothing changed: all kept
    path = root / "migrations" / "versions" / "a001.py"
    path.write_text(path.read_text().replace("WHERE plan IS NULL", "WHERE plan = ''"))
    warm = lint_json(root)
    assert "WHERE plan = ''" in warm
    assert warm == cold(root)
    # from another folder the paths are shown otherwise: kept text is not used
    assert lint_json(root, cwd=tmp_path) == cold(root, cwd=tmp_path)
    assert lint_json(root) == cold(root)


def test_a_configuration_change_is_seen(tmp_path: Path) -> None:
    root = tmp_path / "p"
    project(root, revisions=3)
    lint_json(root)
    (root / "sluice.toml").write_text('[lint]\nseverity = { SL502 = "info" }\n')
    warm = lint_json(root)
    assert warm == cold(root)
    assert '"severity": "info"' in warm and '"severity": "warning"' not in warm


def test_findings_that_compare_revisions_are_seen(tmp_path: Path) -> None:
    """A duplicated revision id puts a finding (SL905, on the line of ``revision =``)
    after another revision's own finding."""
    root = tmp_path / "p"
    project(root, revisions=3)
    versions = root / "migrations" / "versions"
    source = (versions / "a001.py").read_text()
    ids = 'revision = "a001"\ndown_revision = \'a000\'\n'
    assert ids in source
    (versions / "a001.py").write_text(source.replace(ids, "") + ids)
    lint_json(root)
    (versions / "b001.py").write_text((versions / "a001.py").read_text())
    warm = lint_json(root)
    assert warm.index('"line": 16') < warm.index('"SL905"')
    assert warm == cold(root)
    assert lint_json(root) == cold(root)
    (versions / "b001.py").unlink()
    warm = lint_json(root)
    assert "SL905" not in warm
    assert warm == cold(root)


def test_a_warm_lint_encodes_only_the_edited_revision(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "p"
    project(root, revisions=4)
    lint_json(root)
    edit(root, "a002.py")
    encoded: list[Any] = []
    as_dict = Finding.as_dict
    list_items = jsonout.list_items

    def counting_as_dict(self: Finding) -> dict[str, Any]:
        encoded.append(("finding", self.path))
        return as_dict(self)

    def counting_list_items(items: list[Any], depth: int) -> str:
        encoded.extend(("item", item["path"]) for item in items)
        return list_items(items, depth)

    monkeypatch.setattr(Finding, "as_dict", counting_as_dict)
    monkeypatch.setattr(jsonout, "list_items", counting_list_items)
    warm = lint_json(root)
    edited = "migrations/versions/a002.py"
    # its finding and its record, nothing else
    assert sorted(encoded) == [("finding", edited), ("item", edited), ("item", edited)]
    monkeypatch.undo()
    assert warm == cold(root)


def test_kept_text_is_only_for_its_entry(tmp_path: Path) -> None:
    """The text kept in ``lint.json`` is sealed like the cache and written for the content
    hash of the entry it was encoded from."""
    root = tmp_path / "p"
    project(root, revisions=2)
    lint_json(root)
    kept = root / ".sluice_cache" / "lint.json"
    raw = kept.read_bytes()
    kept.write_bytes(raw.replace(b"unbatched-backfill", b"unbatched-backfilX"))
    assert lint_json(root) == cold(root)  # does not validate: encoded again
    assert b"unbatched-backfilX" not in kept.read_bytes()


def test_kept_text_is_for_the_encoder_that_wrote_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "p"
    project(root, revisions=3)
    lint_json(root)
    paths: list[str | None] = []
    as_dict = Finding.as_dict

    def counting_as_dict(self: Finding) -> dict[str, Any]:
        paths.append(self.path)
        return as_dict(self)

    monkeypatch.setattr(Finding, "as_dict", counting_as_dict)
    lint_json(root)
    assert paths == []
    monkeypatch.setattr(jsonout, "source_stamp", lambda: "another encoder")
    lint_json(root)
    assert len(paths) == 3  # every finding encoded again


@pytest.mark.parametrize("scope", [["migrations/versions/a002.py"], ["--revision", "a001"],
                                   ["--all"]])
def test_a_scoped_lint(tmp_path: Path, scope: list[str]) -> None:
    root = tmp_path / "p"
    project(root, revisions=3)
    versions = root / "migrations" / "versions"
    (versions / "a002.py").write_text((versions / "a002.py").read_text()
                                      .replace('"a002"', "str('a002')"))  # id unreadable
    lint_json(root)
    for _ in range(2):
        warm = lint_json(root, *scope)
        assert warm == cold(root, *scope)
    assert warm.count('"rule"') == (3 if scope == ["--all"] else 1)
