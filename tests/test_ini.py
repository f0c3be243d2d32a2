"""alembic.ini read without Alembic (sluice.core.ini) gives what Alembic's Config gives."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from sluice.core.ini import IniConfig, alembic_version, light_config
from sluice.core.project import alembic_config, layout_config, read_locations
from sluice.errors import SluiceError

CASES = {
    "default": "",
    "here": "version_locations = %(here)s/migrations/versions %(here)s/more\n",
    "os separator": f"path_separator = os\nversion_locations = migrations/versions{os.pathsep}"
                    "more dir\nprepend_sys_path = .\n",
    "space separator": "path_separator = space\nversion_locations = migrations/versions more\n"
                       "prepend_sys_path = . src\n",
    "newline separator": "path_separator = newline\nversion_locations =\n"
                         "    migrations/versions\n    more dir\n",
    "semicolon separator": "path_separator = ;\nversion_locations = migrations/versions;more\n",
    "deprecated version_path_separator": "version_path_separator = os\n"
                                         f"version_locations = migrations/versions{os.pathsep}more\n",
    "legacy split": "version_locations = migrations/versions, more\n"
                    "prepend_sys_path = .:src lib\n",
    "recursive and sourceless": "recursive_version_locations = true\nsourceless = true\n",
    "booleans not true": "recursive_version_locations = True\nsourceless = yes\n",
    "url with interpolation": "db = app\nsqlalchemy.url = sqlite:///%(here)s/%(db)s.db\n",
}


def project(tmp_path: Path, extra: str, *, head: str = "[alembic]\n") -> Path:
    for folder in ("migrations/versions", "more", "more dir", "src", "lib"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    ini = tmp_path / "alembic.ini"
    ini.write_text(f"{head}script_location = %(here)s/migrations\n{extra}")
    return ini


def test_installed_alembic_is_read_without_importing_it() -> None:
    import alembic

    version = alembic_version()
    assert version is not None
    assert alembic.__version__.startswith(".".join(map(str, version)) + ".")


@pytest.mark.parametrize("extra", CASES.values(), ids=CASES.keys())
def test_layout_read_like_alembic(tmp_path: Path, extra: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = project(tmp_path, extra)
    monkeypatch.chdir(tmp_path)
    light = light_config(ini)
    assert isinstance(light, IniConfig)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert read_locations(light, ini) == read_locations(alembic_config(ini), ini)
        assert light.get_version_locations_list() == alembic_config(ini).get_version_locations_list()
        assert light.get_prepend_sys_paths_list() == alembic_config(ini).get_prepend_sys_paths_list()


@pytest.mark.parametrize(("extra", "head"), [
    ("path_separator = comma\nversion_locations = a\n", "[alembic]\n"),
    ("", "[other]\n"),
    ("url = %(missing)s\nsqlalchemy.url = %(url)s\n", "[alembic]\n"),
], ids=["bad separator", "no [alembic] section", "broken interpolation"])
def test_broken_ini_is_the_same_one_line_error(tmp_path: Path, extra: str, head: str) -> None:
    ini = project(tmp_path, extra, head=head)
    light = light_config(ini)
    assert isinstance(light, IniConfig)
    errors = []
    for cfg in (light, alembic_config(ini)):
        with pytest.raises(SluiceError) as err:
            read_locations(cfg, ini)
        errors.append(str(err.value))
    assert errors[0] == errors[1]
    assert errors[0].startswith(f"{ini}: cannot read: ")


def test_tool_alembic_in_pyproject_is_read_by_alembic(tmp_path: Path) -> None:
    """Alembic 1.16+ reads [tool.alembic] too: then the layout comes from its own Config."""
    ini = project(tmp_path, "")
    ini.write_text("[alembic]\n")
    (tmp_path / "pyproject.toml").write_text('[tool.alembic]\nscript_location = "%(here)s/migrations"\n')
    assert light_config(ini) is None
    cfg = layout_config(ini)
    assert not isinstance(cfg, IniConfig)
    assert read_locations(cfg, ini).script_location == (tmp_path / "migrations").resolve()


def test_tool_alembic_as_dotted_keys_is_read_by_alembic_too(tmp_path: Path) -> None:
    """``alembic.script_location`` under ``[tool]`` is the same table to Alembic: the
    layout comes from its Config, not from alembic.ini alone."""
    ini = project(tmp_path, "")
    ini.write_text("[alembic]\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool]\nalembic.script_location = "%(here)s/migrations"\n')
    assert light_config(ini) is None
    assert read_locations(layout_config(ini), ini).script_location == \
        (tmp_path / "migrations").resolve()


def test_missing_ini_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(SluiceError, match="no such file"):
        layout_config(tmp_path / "alembic.ini")
