from __future__ import annotations

import io
from pathlib import Path

import pytest
from alembic.util import CommandError
from rich.console import Console

from sluice.integrations.demo import run_demo
from tests.support.cli import run_cli
from tests.support.project import autogenerate, upgrade


def test_demo_walks_every_control_point() -> None:
    buf = io.StringIO()
    assert run_demo(console=Console(file=buf, width=120, no_color=True)) == 0
    out = buf.getvalue()
    for expected in (
        "refused, and no file written",
        "refused with the safe alternative, no file",
        "the allowed op is annotated with its override",
        "prod upgraded without demo data",
        "every control point behaved as shown",
    ):
        assert expected in out
    assert "✗" not in out


def test_broken_config_in_env_py_is_one_alembic_failure(shop: Path) -> None:
    (shop / "sluice.toml").write_text('empty_revision = "sometimes"\n')
    with pytest.raises(CommandError, match=r"sluice.toml:1: empty_revision: expected"):
        upgrade(shop, f"sqlite:///{shop / 'x.db'}")


def test_initialised_project_autogenerates_under_policies(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    (proj / "app").mkdir(parents=True)
    (proj / "app" / "__init__.py").write_text("")
    (proj / "app" / "models.py").write_text(
        "import sqlalchemy as sa\nmetadata = sa.MetaData()\n"
        "t = sa.Table('items', metadata, sa.Column('id', sa.Integer, primary_key=True))\n")
    result = run_cli(["init", str(proj), "--metadata", "app.models:metadata"])
    assert result.exit_code == 0, result.output
    ini = proj / "alembic.ini"
    ini.write_text(ini.read_text().replace("prepend_sys_path = .", "prepend_sys_path = %(here)s"))
    url = f"sqlite:///{proj / 'db.sqlite'}"
    (path,) = autogenerate(proj, url, message="items")
    assert path.read_text().startswith("# Sluice review: 1 operation (environment: dev)")
    upgrade(proj, url)
    with pytest.raises(CommandError, match="no schema changes"):
        autogenerate(proj, url)


def test_demo_is_not_fooled_by_another_copy_already_imported(shop: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(shop))
    import shopapp.models  # noqa: F401  (a stale copy, as another test would leave it)

    buf = io.StringIO()
    assert run_demo(console=Console(file=buf, width=120, no_color=True)) == 0, buf.getvalue()
