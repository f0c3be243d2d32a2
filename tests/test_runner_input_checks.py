"""Input a deploy must not guess about: conflicting or misspelt ``-x env`` keys, a bad
``[data]`` value (said when the configuration loads, with its line), and a role that may
not write Sluice's existing tables (told which privileges to grant)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from sluice.errors import SluiceError
from tests.support.cli import run_cli
from tests.support.runner import SLUICE_TOML, chain, go, make_project


def project(tmp_path: Path, toml: str = SLUICE_TOML) -> tuple[Path, str]:
    ini = make_project(tmp_path / "p", chain(2), toml=toml)
    return ini, f"sqlite:///{tmp_path / 'app.db'}"


@pytest.mark.parametrize("command", ["upgrade", "plan"])
@pytest.mark.parametrize(("args", "said"), [
    (["-x", "env=prod", "-x", "env=dev"], "-x env=prod and -x env=dev disagree; pass one"),
    (["-x", "env=dev", "-x", "env=prod"], "-x env=dev and -x env=prod disagree; pass one"),
    (["-x", "Env=prod"], "did you mean -x env=prod?"),
    (["-x", "environment=prod"], "did you mean -x env=prod?"),
])
def test_conflicting_or_misspelt_x_env_is_refused(tmp_path: Path, command: str,
                                                   args: list[str], said: str) -> None:
    ini, url = project(tmp_path)
    extra = ["--yes"] if command == "upgrade" else []
    result = run_cli([command, "-c", str(ini), "--url", url, *args, *extra],
                     catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert said in result.stderr
    assert not (tmp_path / "app.db").exists()


def test_the_same_x_env_twice_is_fine(tmp_path: Path) -> None:
    ini, url = project(tmp_path)
    result = run_cli(["upgrade", "-c", str(ini), "--url", url, "-x", "env=dev", "-x",
                      "env=dev", "--yes"], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("line", "said"), [
    ("batch_size = 0", "data.batch_size: expected an integer >= 1, got 0"),
    ("pause_ms = -5", "data.pause_ms: expected an integer >= 0, got -5"),
])
def test_a_bad_data_value_is_refused_when_the_config_loads(tmp_path: Path, line: str,
                                                           said: str) -> None:
    toml = SLUICE_TOML + f"\n[data]\n{line}\n"
    ini, url = project(tmp_path, toml)
    number = toml.splitlines().index(line) + 1
    result = run_cli(["plan", "-c", str(ini), "--url", url], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert f"sluice.toml:{number}: {said}" in result.stderr
    assert "tool.sluice" not in result.stderr


@pytest.mark.postgres
def test_a_role_refused_on_existing_tables_is_told_what_to_grant(
        tmp_path: Path, pg_url: str) -> None:
    ini = make_project(tmp_path / "p", chain(2))
    assert go(ini, pg_url, target="r0001").status == "applied"  # the owner's first run
    role = f"sluice_ro_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
            conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
            conn.exec_driver_sql(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
        url = sa.make_url(pg_url).set(username=role).render_as_string(hide_password=False)
        with pytest.raises(SluiceError) as info:
            go(ini, url)
        hint = info.value.hint or ""
        assert "permission denied" in str(info.value)
        assert "Let the deploy role create tables" not in hint, hint
        assert "INSERT, UPDATE and DELETE" in hint
        # only the tables that are there (no data step made sluice_data_progress), with
        # the sequence an audit row's id comes from: what an owner runs goes through
        assert f'GRANT SELECT, INSERT, UPDATE, DELETE ON public.sluice_lock_holder, ' \
               f'public.sluice_history TO "{role}"; GRANT USAGE ON SEQUENCE ' \
               f'public.sluice_history_id_seq TO "{role}";' in hint, hint
        with admin.connect() as conn:
            conn.exec_driver_sql(f"GRANT INSERT, UPDATE, DELETE ON alembic_version TO {role}")
            for grant in re.findall(r"GRANT [^;]+;", hint):
                conn.exec_driver_sql(grant)
        assert go(ini, url).status == "applied"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()
