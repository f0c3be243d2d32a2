from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from sluice.config import SluiceConfig, load_config, parse_config
from sluice.core.pyproject import file_may_hold_tool
from sluice.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file(tmp_path: Path) -> None:
    cfg = load_config(tmp_path)
    assert cfg.source is None
    assert cfg.empty_revision == "error"
    assert set(cfg.environments) == {"dev", "test", "staging", "prod"}
    assert cfg.is_production("prod") and not cfg.is_production("dev")


def test_pyproject_table_is_found_above_alembic_ini(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.sluice]\nexclude_tables = ["tmp_*"]\n')
    sub = tmp_path / "db"
    sub.mkdir()
    write(sub / "alembic.ini", "[alembic]\n")
    cfg = load_config(sub / "alembic.ini")
    assert cfg.exclude_tables == ["tmp_*"]
    assert cfg.source == tmp_path / "pyproject.toml"
    assert cfg.root == sub.resolve()


def test_a_pyproject_without_sluice_is_not_parsed_and_a_dotted_key_is_found(
        tmp_path: Path) -> None:
    """A pyproject.toml that never names Sluice is passed over unread (even if it is not
    valid TOML: it is another tool's file); one that sets Sluice's keys as dotted keys of
    ``[tool]`` is found."""
    write(tmp_path / "pyproject.toml", '[tool.black]\nline-length = "oops\n')
    sub = tmp_path / "db"
    sub.mkdir()
    write(sub / "alembic.ini", "[alembic]\n")
    assert load_config(sub / "alembic.ini").source is None
    write(tmp_path / "pyproject.toml", '[tool]\nsluice.exclude_tables = ["tmp_*"]\n')
    cfg = load_config(sub / "alembic.ini")
    assert cfg.source == tmp_path / "pyproject.toml" and cfg.exclude_tables == ["tmp_*"]


HOLDS_SLUICE = ['[tool.sluice]', '[ tool . "sluice" ]', "[tool.'sluice'.environments.prod]",
                '[[tool.sluice.x]]', '[tool]\nsluice.exclude_tables = []', 'tool.sluice.x = 1',
                'tool = { sluice = { x = 1 } }', '[ "tool" ]\n  "sluice" = {}',
                '[project]\nx = 1\n\n[tool]\n\nsluice = {}',
                '[project]\nsluice = "a"\n[tool]\nx = 1\nsluice = {}']
NO_SLUICE = ['[project]\ndependencies = ["alembic-sluice>=1.0"]',
             '[project]\nname = "alembic-sluice"',
             '[project.scripts]\nsluice = "sluice.integrations.cli.fast:run"', 'sluice.x = 1',
             '[tool.black]\nx = 1\n[project]\nscripts = { sluice = "a" }',
             '[tool]\nx = 1\n[project]\nsluice = "a"\n[project.urls]\nsluice = "b"']


@pytest.mark.parametrize("text", HOLDS_SLUICE + NO_SLUICE)
def test_pyproject_prefilter_never_passes_over_a_sluice_table(tmp_path: Path,
                                                              text: str) -> None:
    """The cheap look at pyproject.toml before parsing it agrees with the parser on each
    way TOML can spell ``tool.sluice``, and on files that only name the package."""
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    holds = "sluice" in tomllib.loads(text).get("tool", {})
    assert holds == (text in HOLDS_SLUICE)
    assert file_may_hold_tool(path, "sluice") == holds


def test_sluice_toml_wins_over_pyproject_in_same_folder(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.sluice]\nempty_revision = "allow"\n')
    write(tmp_path / "sluice.toml", 'empty_revision = "skip"\n')
    assert load_config(tmp_path).empty_revision == "skip"


def test_pyproject_without_sluice_table_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.other]\nx = 1\n")
    assert load_config(tmp_path).source is None


def test_unknown_key_suggests_the_near_miss(tmp_path: Path) -> None:
    write(tmp_path / "sluice.toml", 'exclude_table = ["tmp_*"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    msg = str(err.value)
    assert "sluice.toml:1: exclude_table: unknown key" in msg
    assert "did you mean 'exclude_tables'" in msg


def test_nested_unknown_key_names_the_section(tmp_path: Path) -> None:
    write(tmp_path / "sluice.toml", "[lint]\nfail_onn = 'warning'\n")
    with pytest.raises(ConfigError, match=r"sluice\.toml:2: lint\.fail_onn: unknown key; did you mean 'fail_on'"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('exclude_tables = "tmp_*"', "sluice.toml:1: exclude_tables: expected list of string, got string"),
        ("exclude_tables = [1]", r"sluice.toml:1: exclude_tables\[0\]: expected string, got integer"),
        ('empty_revision = "eror"', "expected 'error' | 'skip' | 'allow', got 'eror'; did you mean 'error'"),
        ("[lint]\ntarget_postgres_version = '14'", "expected integer, got string"),
        ("[environments.prod]\nconfirm = 'yes'", "sluice.toml:2: environments.prod.confirm: expected boolean"),
        ('default_environment = "qa"', "'qa' is not one of the environments"),
        ('[lint.severity]\nSL001 = "fatal"', "sluice.toml:2: lint.severity.SL001"),
    ],
)
def test_wrong_types_name_key_and_expected_type(tmp_path: Path, toml: str, expected: str) -> None:
    write(tmp_path / "sluice.toml", toml + "\n")
    with pytest.raises(ConfigError, match=expected):
        load_config(tmp_path)


def test_toml_syntax_error_gives_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "sluice.toml", 'exclude_tables = ["a"]\n\nempty_revision = \n')
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert f"{tmp_path / 'sluice.toml'}:3:" in str(err.value)
    assert "invalid TOML" in str(err.value)


def test_environments_as_list_and_overrides() -> None:
    cfg = parse_config({
        "environments": ["dev", "prod"],
        "exclude_tables": ["tmp_*"],
    })
    assert set(cfg.environments) == {"dev", "prod"}
    cfg = parse_config({
        "dangerous_ops": "error",
        "environments": {"dev": {"dangerous_ops": "warn"}, "prod": {}},
    })
    assert cfg.for_environment("dev").dangerous_ops == "warn"
    assert cfg.for_environment("prod").dangerous_ops == "error"


def test_service_pattern_claimed_twice_is_an_error() -> None:
    with pytest.raises(ConfigError, match="'invoice\\*' is claimed by both 'billing' and 'shop'"):
        parse_config({"services": {"billing": {"tables": ["invoice*"]},
                                   "shop": {"tables": ["invoice*"]}}})


def test_config_object_is_typed() -> None:
    assert isinstance(parse_config({}), SluiceConfig)


@pytest.mark.parametrize("value", ["-v", "latest", "8.x", ""])
def test_a_mysql_version_that_is_not_one_names_file_and_key(tmp_path: Path, value: str) -> None:
    write(tmp_path / "sluice.toml", f'[lint]\ntarget_mysql_version = "{value}"\n')
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    msg = str(err.value)
    assert "sluice.toml:2: lint.target_mysql_version" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("value", ["8.0", "5.7", "8.0.35", "mariadb-10.11", "MariaDB 10.6",
                                   "10.11", "mysql-8.4"])
def test_mysql_versions_are_accepted(tmp_path: Path, value: str) -> None:
    write(tmp_path / "sluice.toml", f'[lint]\ntarget_mysql_version = "{value}"\n')
    assert load_config(tmp_path).lint.target_mysql_version == value


def test_a_pyproject_key_keeps_its_table_and_gets_its_line(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml",
          '[project]\nname = "x"\n\n[tool.sluice.environments.prod]\nconfirm = "yes"\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(
        f"{tmp_path / 'pyproject.toml'}:5: tool.sluice.environments.prod.confirm: expected "
        "boolean")


def test_a_key_in_an_inline_table_is_named_without_a_line(tmp_path: Path) -> None:
    write(tmp_path / "sluice.toml", 'environments = { prod = { confirm = "yes" } }\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(
        f"{tmp_path / 'sluice.toml'}: environments.prod.confirm: expected boolean")


@pytest.mark.parametrize("value", [-1, 0])
def test_roundtrip_last_below_one_names_its_key_and_line(tmp_path: Path, value: int) -> None:
    """As `sluice check --last` refuses it: -1 ran a round trip of "the latest -1"."""
    write(tmp_path / "sluice.toml", f'exclude_tables = []\n\n[check]\nroundtrip_last = {value}\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'sluice.toml'}:4: check.roundtrip_last: must be 1 or more (the latest "
        f"N revisions; leave it out for all), got {value}")
    write(tmp_path / "sluice.toml", "[check]\nroundtrip_last = 1\n")
    assert load_config(tmp_path).check.roundtrip_last == 1


@pytest.mark.parametrize("name, text, key", [
    ("sluice.toml", '[environments.dev]\n[environments.prod]\nconfirm = true\n'
     'lock_timeout = "5 seconds"\n', "4: environments.prod.lock_timeout"),
    ("pyproject.toml", '[tool.sluice.environments.dev]\n[tool.sluice.environments.prod]\n'
     'statement_timeout = "1 hour"\n', "3: tool.sluice.environments.prod.statement_timeout"),
])
def test_a_bad_duration_is_said_on_load_with_its_line(tmp_path: Path, name: str, text: str,
                                                       key: str) -> None:
    write(tmp_path / name, text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / name}:{key}: expected a duration like ")


def test_negative_lock_retries_are_said_on_load_with_the_line(tmp_path: Path) -> None:
    write(tmp_path / "sluice.toml", "[environments.dev]\n[environments.prod]\nlock_retries = -2\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == (f"{tmp_path / 'sluice.toml'}:3: environments.prod.lock_retries: "
                               "must be 0 or more, got -2")


def test_settings_are_named_as_the_file_spells_them(tmp_path: Path) -> None:
    toml = write(tmp_path / "sluice.toml", 'downgrades = "optional"\n\n[check]\nurl = "x"\n')
    cfg = load_config(tmp_path)
    assert cfg.where("check.url") == f"{toml}:4: check.url"
    assert cfg.where("check.checks") == f"{toml}: check.checks"  # not set: no line
    assert (cfg.table("check"), cfg.table(), cfg.file_name) == (
        "[check]", "sluice.toml (top level)", "sluice.toml")
    toml.unlink()
    pyproject = write(tmp_path / "pyproject.toml", '[tool.sluice.check]\nurl = "x"\n')
    cfg = load_config(tmp_path)
    assert cfg.where("check.url") == f"{pyproject}:2: tool.sluice.check.url"
    assert (cfg.table("check"), cfg.table(), cfg.file_name) == (
        "[tool.sluice.check]", "[tool.sluice]", "pyproject.toml")
