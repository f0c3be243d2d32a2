"""Which MySQL/MariaDB server the MySQL rules judge for: ``lint.target_mysql_version``
when set; otherwise the server Sluice is connected to (autogenerate, plan, upgrade's
guard), and a static lint says that it assumed MySQL 8.0. A MariaDB project was judged as
"MySQL 8.0" unless configured, even during autogenerate against the live server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from sluice.config import SluiceConfig, parse_config, with_server
from sluice.lint.engine import lint_project
from tests.support.cli import run_cli
from tests.support.runner import Rev, make_project

NARROW = ('op.alter_column("things", "name", existing_type=sa.String(50), '
          'type_=sa.String(20), existing_nullable=True)')
CREATE = ('op.create_table("things", sa.Column("id", sa.Integer(), primary_key=True), '
          'sa.Column("name", sa.String(50)))')


def test_the_connected_server_fills_only_an_unset_target() -> None:
    unset = SluiceConfig()
    assert unset.lint.target_mysql_version is None
    assert with_server(unset, "mysql", mariadb=True, version=(10, 11, 9)) \
        .lint.target_mysql_version == "mariadb-10.11"
    assert with_server(unset, "mysql", version=(8, 4, 2)).lint.target_mysql_version == "8.4"
    assert with_server(unset, "postgresql", version=(15, 4)) is unset
    assert with_server(unset, "mysql", version=None) is unset
    set_ = parse_config({"lint": {"target_mysql_version": "5.7"}})
    assert with_server(set_, "mysql", mariadb=True, version=(10, 11)) is set_


def _project(root: Path, url: str) -> Path:
    ini = make_project(root, [Rev("r0001", CREATE, 'op.drop_table("things")'),
                              Rev("r0002", NARROW)])
    text = ini.read_text()
    ini.write_text("\n".join(f"sqlalchemy.url = {url}" if line.startswith("sqlalchemy.url")
                             else line for line in text.splitlines()) + "\n")
    return ini


def test_a_static_lint_says_it_assumed_mysql_8(tmp_path: Path) -> None:
    ini = _project(tmp_path / "proj", "mysql+pymysql://ci@db.example/app")
    result = lint_project(ini, use_cache=False)
    messages = [f.message for f in result.findings if f.rule.startswith("SL3")]
    assert messages and all("MySQL 8.0" in m for m in messages if "MySQL" in m), messages
    # what was assumed is said once, in a note, not in every finding
    assert not any("[assumed" in m for m in messages), messages
    assert any("assume MySQL 8.0 (lint.target_mysql_version is unset)" in n
               for n in result.notes), result.notes


@pytest.mark.mysql
def test_plan_judges_for_the_server_it_is_connected_to(tmp_path: Path, mysql_url: str) -> None:
    ini = _project(tmp_path / "proj", mysql_url)
    assert run_cli(["upgrade", "r0001", "-c", ini]).exit_code == 0
    engine = sa.create_engine(mysql_url)
    with engine.connect() as conn:
        mariadb = conn.dialect.is_mariadb  # type: ignore[attr-defined]
        major, minor = conn.dialect.server_version_info[:2]  # type: ignore[index]
    engine.dispose()
    label = f"MariaDB {major}.{minor}" if mariadb else f"MySQL {major}.{minor}"
    res = run_cli(["plan", "-c", ini, "--format", "json", "--no-sql"], catch_exceptions=False)
    messages = [f["message"] for rev in json.loads(res.stdout)["revisions"]
                for op in rev["operations"] for f in op["findings"]]
    mysql_findings = [m for m in messages if "MySQL" in m or "MariaDB" in m]
    assert mysql_findings, messages
    assert all(label in m and "assumed" not in m for m in mysql_findings), mysql_findings


INDEX = 'op.create_index("ix_things_name", "things", ["name"])'


def test_fix_says_which_server_it_wrote_for(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", [Rev("r0001", CREATE, 'op.drop_table("things")'),
                                           Rev("r0002", INDEX)])
    text = ini.read_text()
    ini.write_text("\n".join("sqlalchemy.url = mysql+pymysql://ci@db.example/app"
                             if line.startswith("sqlalchemy.url") else line
                             for line in text.splitlines()) + "\n")
    done = run_cli(["fix", "--diff", "-c", ini])
    assert done.exit_code == 1, done.output
    assert "written for MySQL 8.0, assumed: lint.target_mysql_version is unset" in done.stderr
    toml = ini.parent / "sluice.toml"
    toml.write_text(toml.read_text() + '\n[lint]\ntarget_mysql_version = "mariadb-10.11"\n')
    done = run_cli(["fix", "--diff", "-c", ini])
    assert done.exit_code == 1 and "assumed" not in done.stderr, done.output
    assert "IF NOT EXISTS" in done.stdout
