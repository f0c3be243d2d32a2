"""The commands a failed run tells the operator to run carry the options it was run with.

``sluice upgrade --url sqlite:////tmp/x/t1.db`` failed and said "Fix ... and run `sluice
upgrade head --env dev` again", which runs against alembic.ini's database, not t1.db; a
MariaDB partial failure pointed at `sluice history --env dev`, which reads the wrong
database too. Every rerun and inspect hint now repeats the ``-c``, ``--url``, ``--env`` and
``-x`` given (a URL's password masked, and said so), so that copying it acts on the same
database. And a MariaDB revision that failed part way is not described by the rerun as
"nothing of it was applied": the rerun says what the first run recorded.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from sluice.core.suggest import Invocation
from tests.support.cli import run_cli
from tests.support.runner import Rev, make_project, rows, version

FAILS = Rev(id="b19baaaa24c1", upgrade='op.execute("UPDATE no_such_table SET x = 1")')
FIXED = 'op.create_table("fixed", sa.Column("id", sa.Integer(), primary_key=True))'


def suggested(text: str, program: str = "sluice") -> list[list[str]]:
    """The commands in backticks in ``text`` that start with ``program``, as argv."""
    return [shlex.split(code) for code in re.findall(r"`([^`\n]+)`", text)
            if code.startswith(f"{program} ")]


def test_the_rerun_hint_repeats_url_config_and_x_args(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", [FAILS])
    db = tmp_path / "x" / "t1.db"
    db.parent.mkdir()
    url = f"sqlite:///{db}"
    failed = run_cli(["upgrade", "-c", ini, "--url", url, "-x", "tenant=a b"],
                     cwd=tmp_path)
    assert failed.exit_code == 1, failed.output
    [hint] = [ln for ln in failed.stderr.splitlines() if ln.startswith("Fix ")]
    assert hint == (f"Fix b19baaaa24c1 and run `sluice upgrade head -c {ini} --url {url} "
                    "--env dev -x 'tenant=a b'` again.")
    # copying it acts on the same database (t1.db), not on alembic.ini's app.db
    path = ini.parent / "migrations" / "versions" / "b19baaaa24c1.py"
    path.write_text(path.read_text().replace(FAILS.upgrade, FIXED))
    [argv] = suggested(hint)
    again = run_cli(argv[1:], cwd=tmp_path)
    assert again.exit_code == 0, again.output
    assert version(url) == ["b19baaaa24c1"]
    assert not (ini.parent / "app.db").exists()


def test_x_env_is_repeated_as_env_and_the_default_config_is_left_out(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", [FAILS])
    url = f"sqlite:///{tmp_path / 't1.db'}"
    failed = run_cli(["upgrade", "--url", url, "-x", "env=test"], cwd=ini.parent)
    assert failed.exit_code == 1, failed.output
    assert f"run `sluice upgrade head --url {url} --env test` again." in failed.stderr


def test_a_password_is_masked_and_the_hint_says_so() -> None:
    given = Invocation(ini="alembic.ini", environment="prod",
                       url="postgresql+psycopg://deploy:s3cr%40t@db:5432/shop",
                       via="the URL given with --url")
    shown = given.sluice("history", "--format", "json")
    assert "s3cr" not in shown
    assert shown == ("`sluice history --format json --url "
                     "'postgresql+psycopg://deploy:***@db:5432/shop' --env prod` (*** stands "
                     "for the password of the URL given with --url)")
    plain = Invocation(ini="conf/alembic.ini", environment="dev", url="sqlite:///t.db",
                       via="the URL given with --url", x_args=("service=billing",))
    assert plain.sluice("upgrade", "head") == ("`sluice upgrade head -c conf/alembic.ini "
                                               "--url sqlite:///t.db --env dev "
                                               "-x service=billing`")
    section = Invocation(environment="dev", ini_section="billing")
    assert section.sluice("history") == "`sluice history -n billing --env dev`"


def test_the_stamp_hint_passes_x_args_and_warns_about_another_url() -> None:
    given = Invocation(ini="alembic.ini", environment="dev", url="sqlite:///t.db",
                       via="the URL given with --url")
    stamp = given.alembic("stamp", "m2")
    assert stamp.startswith("`alembic -c alembic.ini -x env=dev stamp m2` (")
    assert "not to the URL given with --url" in stamp
    assert Invocation(ini="alembic.ini", environment="dev").alembic("stamp", "m2") == \
        "`alembic -c alembic.ini -x env=dev stamp m2`"


PARTIAL = Rev(id="m2", upgrade=(
    'op.create_table("a", sa.Column("id", sa.Integer(), primary_key=True))\n'
    'op.add_column("t", sa.Column("x", sa.Integer()))\n'
    'op.add_column("t", sa.Column("x", sa.Integer()))'))


@pytest.mark.mysql
def test_mariadb_rerun_after_a_partial_failure_says_what_the_first_run_applied(
        tmp_path: Path, mysql_url: str) -> None:
    ini = make_project(tmp_path / "proj", [
        Rev(id="m1", upgrade='op.create_table("t", sa.Column("id", sa.Integer(), '
                             'primary_key=True))'),
        PARTIAL,
    ])
    first = run_cli(["upgrade", "--url", mysql_url], cwd=ini.parent)
    assert first.exit_code == 1, first.output
    assert "failed after 2 of its statements had been applied" in first.stderr
    assert f"`sluice history --format json --url {shlex.quote(mysql_url)} --env dev`" in first.stderr

    rerun = run_cli(["upgrade", "--url", mysql_url], cwd=ini.parent)
    assert rerun.exit_code == 1, rerun.output
    err = rerun.stderr
    assert "nothing of m2 was applied" not in err and "none of its statements" not in err
    first_line = err.splitlines()[0]
    assert first_line.startswith("sluice: error: revision m2 failed: OperationalError: "
                                 "(1050, \"Table 'a' already exists\"); an earlier run by ")
    assert ("failed in m2 after 2 of its statements had been applied, which are still "
            "there: running m2 again repeats them") in first_line
    assert first_line.endswith("; the database is at m1")
    assert "  1. CREATE TABLE a (" in err and "  2. ALTER TABLE t ADD COLUMN x INTEGER" in err
    assert "Failed there: 3. ALTER TABLE t ADD COLUMN x INTEGER" in err
    assert "Do not re-run the upgrade as it is" in err
    assert "`alembic -c alembic.ini -x env=dev stamp m2`" in err
    assert f"`sluice history --revision m2 --format json --url {shlex.quote(mysql_url)} --env dev`" in err
    assert f"run `sluice upgrade head --url {shlex.quote(mysql_url)} --env dev` again" in err
    assert version(mysql_url) == ["m1"]
    assert [e.status for e in rows(mysql_url) if e.revision == "m2"] == ["failed", "failed"]
