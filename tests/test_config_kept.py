"""A configuration file's parse kept between runs of ``sluice lint``
(sluice.config_kept, sluice.integrations.cli.configcache): served only for the same bytes
and the same parsing code, equal to a fresh parse; a file with an error is never kept; a
broken or foreign entry is parsed again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sluice import config_kept
from sluice.config import load_config
from sluice.errors import ConfigError
from sluice.integrations.cli import configcache
from tests.support.lint import FAST, project

ROOT = Path(__file__).resolve().parent.parent

#: Every kind of value a configuration holds: lists, tables of tables, optional strings,
#: numbers, booleans, nested sections, services.
RICH = """\
exclude_tables = ["tmp_*", "*_bak"]
protected_tables = ["payments"]
empty_revision = "skip"
dangerous_ops = "warn"
safe_by_default = true
renames = { "users.fullname" = "users.full_name" }
default_environment = "staging"
production_environments = ["prod", "live"]

[lint]
severity = { SL501 = "error" }
disable = ["SL601"]
fail_on = "warning"

[data]
batch_size = 500

[environments.dev]
[environments.staging]
url = "sqlite:///staging.db"
[environments.prod]
confirm = true
require_backup = true
[environments.live]
production = true

[services.billing]
tables = ["invoice*"]
"""


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> configcache.ConfigCache:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    cache = configcache.install(str(tmp_path / "kept" / "config.marshal"))
    (tmp_path / "kept").mkdir()
    yield cache
    configcache.uninstall(cache)


def counting(calls: list[Path]) -> config_kept.Parse:
    from sluice.config import _parse_file

    def parse(file: Path, raw: bytes):  # type: ignore[no-untyped-def]
        calls.append(file)
        return _parse_file(file, raw)
    return parse


@pytest.mark.parametrize("text", [
    RICH,
    (ROOT / "examples" / "shop" / "sluice.toml").read_text(),
    (ROOT / "examples" / "multiservice" / "sluice.toml").read_text(),
    "",
])
def test_a_kept_configuration_equals_a_fresh_parse(tmp_path: Path, text: str) -> None:
    (tmp_path / "sluice.toml").write_text(text)
    fresh = load_config(tmp_path)
    again = config_kept.decode(config_kept.encode(fresh))
    again.source, again.nested, again.root = fresh.source, fresh.nested, fresh.root
    assert again == fresh
    assert repr(again) == repr(fresh)  # fields compare=False included


def test_a_file_is_parsed_once_while_its_bytes_stay_the_same(
        tmp_path: Path, store: configcache.ConfigCache) -> None:
    file = tmp_path / "sluice.toml"
    file.write_text(RICH)
    calls: list[Path] = []
    first = config_kept.lookup(file, counting(calls))
    store.save()
    later = configcache.ConfigCache(store.path)  # the next run
    config_kept.store = later
    second = config_kept.lookup(file, counting(calls))
    assert calls == [file]
    assert second == first and second is not first
    assert (second.source, second.nested) == (file, False)

    file.write_text(RICH.replace('fail_on = "warning"', 'fail_on = "info"'))
    third = config_kept.lookup(file, counting(calls))
    assert calls == [file, file]
    assert third.lint.fail_on == "info"


def test_a_file_with_an_error_is_never_kept(tmp_path: Path,
                                            store: configcache.ConfigCache) -> None:
    file = tmp_path / "sluice.toml"
    file.write_text('[lint]\nfail_on = "loud"\n')
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"sluice.toml:2: lint.fail_on"):
            load_config(tmp_path)
    assert store.fresh == {}


def test_a_broken_or_foreign_entry_is_parsed_again(tmp_path: Path,
                                                   store: configcache.ConfigCache) -> None:
    file = tmp_path / "sluice.toml"
    file.write_text(RICH)
    raw = file.read_bytes()
    calls: list[Path] = []
    for encoded in (("dataclass", "NoSuchConfig", {}),
                    ("dataclass", "SluiceConfig", {"exclude_tables": []}),  # fields missing
                    ("dataclass", "Path", {})):
        store.put(os.path.abspath(file), raw, encoded, False)
        assert config_kept.lookup(file, counting(calls)).lint.fail_on == "warning"
    assert len(calls) == 3


def test_another_version_of_the_parsing_code_keeps_nothing(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "core").mkdir(parents=True)
    for name in configcache._READERS:
        (package / name).write_text("x = 1\n")
    before = configcache._stamp(str(package))
    (package / "typed_toml.py").write_text("x = 22\n")
    assert configcache._stamp(str(package)) != before


def test_a_pyproject_without_sluice_is_passed_over_and_one_with_it_is_kept(
        tmp_path: Path, store: configcache.ConfigCache) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.sluice]\ndefault_environment = "test"\n')
    inner = tmp_path / "app"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "sluice-app"\n'
                                          '[tool.other]\nsluice = 1\n')
    first = load_config(inner)
    assert (first.source, first.nested, first.default_environment) == (
        tmp_path / "pyproject.toml", True, "test")
    assert set(store.fresh) == {os.path.abspath(tmp_path / "pyproject.toml")}
    second = load_config(inner)
    assert second == first and second.root == inner.resolve()


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def test_a_warm_lint_of_a_configured_project_parses_no_toml_and_sees_an_edit(
        tmp_path: Path) -> None:
    ini = project(tmp_path / "p")
    config = tmp_path / "p" / "sluice.toml"
    config.write_text("[lint]\nfail_on = \"error\"\n")
    report = tmp_path / "modules.json"

    def lint() -> dict[str, object]:
        subprocess.run([sys.executable, "-c", FAST, str(report), "lint"], cwd=ini.parent,
                       capture_output=True, check=True, env=_env())
        data: dict[str, object] = json.loads(report.read_text())
        return data

    lint()  # fills the lint cache and keeps the configuration
    warm = lint()
    assert "tomllib" not in warm["modules"] and "typing" not in warm["modules"]
    assert warm["exit"] == 0  # warnings only
    config.write_text("[lint]\nfail_on = \"warning\"\n")
    edited = lint()
    assert edited["exit"] == 1 and "tomllib" in edited["modules"]
