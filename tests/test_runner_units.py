"""Runner building blocks that need no database: durations, policy, backup templates,
offline SQL splitting, partial-failure alignment, timeout markers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from sluice.config import parse_config
from sluice.core.durations import format_duration, parse_duration
from sluice.core.suggest import Invocation
from sluice.errors import ConfigError, SluiceError
from sluice.filters import table_excluded
from sluice.runner.backup import BackupFailed, render_command, run_backup
from sluice.runner.capture import (
    Executed,
    StepCapture,
    normalize,
    partial_failure,
    split_offline_sql,
)
from sluice.runner.lock import MigrationLock, advisory_key, lock_name
from sluice.runner.policy import resolve_policy
from sluice.runner.timeouts import TimeoutApplier, Timeouts, file_timeouts, parse_marker


@pytest.mark.parametrize("text,ms", [("500ms", 500), ("5s", 5000), ("15min", 900_000),
                                      ("2h", 7_200_000), ("1d", 86_400_000), ("250", 250),
                                      ("1.5s", 1500), (0, 0), ("0", 0)])
def test_parse_duration(text: str, ms: int) -> None:
    assert parse_duration(text, key="k") == ms


@pytest.mark.parametrize("bad", ["5 minutes", "-1s", "s", "5m", True])
def test_parse_duration_rejects_with_key(bad: object) -> None:
    with pytest.raises(ConfigError, match="environments.prod.lock_timeout"):
        parse_duration(bad, key="environments.prod.lock_timeout")  # type: ignore[arg-type]


def test_format_duration() -> None:
    assert format_duration(850) == "850ms"
    assert format_duration(4200) == "4.2s"
    assert format_duration(185_000) == "3min 5s"
    assert format_duration(None) == "-"


def test_production_defaults_and_overrides() -> None:
    cfg = parse_config({
        "environments": {
            "dev": {}, "staging": {"confirm": True, "lock_timeout": "3s"},
            "prod": {"allow_downgrade": True, "backup_command": "pg_dump {url}",
                     "migration_lock_timeout": "2min", "lock_retries": 0},
        },
        "production_environments": ["prod"],
    })
    prod = resolve_policy(cfg, "prod")
    assert prod.production and prod.require_backup and prod.confirm and prod.block_on_lint_errors
    assert prod.guard_alembic
    assert prod.allow_downgrade  # overridden
    assert prod.migration_lock_timeout_ms == 120_000 and prod.lock_retries == 0
    dev = resolve_policy(cfg, "dev")
    assert not (dev.production or dev.require_backup or dev.confirm or dev.block_on_lint_errors)
    assert dev.allow_downgrade and not dev.guard_alembic
    assert dev.migration_lock_timeout_ms == 600_000 and dev.lock_retries == 3
    staging = resolve_policy(cfg, "staging")
    assert staging.confirm and staging.lock_timeout_ms == 3000


def test_bad_duration_in_config_names_key() -> None:
    """Said when the configuration is read (with its line, from a file), before any
    command resolves the environment's policy."""
    with pytest.raises(ConfigError, match=r"environments\.dev\.statement_timeout"):
        parse_config({"environments": {"dev": {"statement_timeout": "forever"}, "prod": {}}})


def test_backup_template_is_split_before_formatting() -> None:
    values = {"url": "postgresql://u:p w@h/db", "timestamp": "T", "revision": "abc",
              "target": "head", "env": "prod", "host": "h", "port": "", "user": "u",
              "password": "p w", "database": "db"}
    argv = render_command("pg_dump -Fc {url} -f 'backups/{timestamp} {revision}.dump'", values)
    assert argv == ["pg_dump", "-Fc", "postgresql://u:p w@h/db", "-f", "backups/T abc.dump"]
    with pytest.raises(BackupFailed, match=r"unknown placeholder \{nope\}"):
        render_command("dump {nope}", values)


def test_backup_failure_reports_stderr_tail_and_masks_password(tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text("import sys; print('connecting to', sys.argv[1], file=sys.stderr); "
                      "print('pg_dump: error: connection refused', file=sys.stderr); sys.exit(3)")
    with pytest.raises(BackupFailed) as err:
        run_backup("postgresql+psycopg://u:secret@localhost/db",
                   command=f"{sys.executable} {script} {{url}}", cwd=tmp_path,
                   revision="base", target="head", env="prod")
    msg = str(err.value)
    assert "exit 3" in msg and "connection refused" in msg and "nothing was changed" in msg
    assert "secret" not in msg


def test_backup_program_missing(tmp_path: Path) -> None:
    with pytest.raises(BackupFailed, match="program not found: no-such-dump"):
        run_backup("sqlite:///x.db", command="no-such-dump {url}", cwd=tmp_path,
                   revision="base", target="head", env="prod")


def test_backup_required_without_command_on_server() -> None:
    with pytest.raises(BackupFailed, match="no backup_command is configured"):
        run_backup("postgresql://u@h/db", command=None, cwd=".", revision="base",
                   target="head", env="prod")


OFFLINE = """\
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL
);

-- Running upgrade  -> r1, first

CREATE TABLE a (
    id INTEGER NOT NULL
);

INSERT INTO alembic_version (version_num) VALUES ('r1');

-- Running upgrade r1 -> r2, second

ALTER TABLE a ADD COLUMN b INTEGER;

INSERT INTO a (id) VALUES (1);

INSERT INTO a (id) VALUES (2);

UPDATE alembic_version SET version_num='r2' WHERE alembic_version.version_num = 'r1';

COMMIT;
"""


def test_split_offline_sql_by_revision() -> None:
    pairs = split_offline_sql(OFFLINE)
    assert [r for r, _ in pairs] == ["r1", "r2", "r2", "r2"]
    assert pairs[0][1].startswith("CREATE TABLE a (")
    assert pairs[1][1] == "ALTER TABLE a ADD COLUMN b INTEGER"


def test_normalize_matches_bound_and_literal_forms() -> None:
    assert normalize("INSERT INTO `a` (id, n) VALUES (%(id)s, %(n)s)") == \
        normalize("INSERT INTO a (id, n) VALUES (1, 'x''y')")


def test_partial_failure_alignment_mysql_semantics() -> None:
    rendered = ["CREATE TABLE x (id INTEGER)", "INSERT INTO x (id) VALUES (1)",
                "INSERT INTO x (id) VALUES (2)", "ALTER TABLE x ADD COLUMN y INTEGER",
                "ALTER TABLE x ADD COLUMN y INTEGER", "CREATE INDEX ix ON x (y)"]
    cap = StepCapture("r2", [
        Executed("SELECT 1", completed=True),
        Executed("CREATE TABLE x (id INTEGER)", completed=True),
        Executed("INSERT INTO x (id) VALUES (%(id)s)", completed=True, many=True),
        Executed("ALTER TABLE x ADD COLUMN y INTEGER", completed=True),
        Executed("ALTER TABLE x ADD COLUMN y INTEGER", completed=False),
    ])
    pf = partial_failure(cap, error="Duplicate column", from_revision="r1", path="r2.py",
                         rendered=rendered)
    assert pf.applied == ["CREATE TABLE x (id INTEGER)", "INSERT INTO x (id) VALUES (%(id)s)",
                          "ALTER TABLE x ADD COLUMN y INTEGER"]
    assert pf.failed == "ALTER TABLE x ADD COLUMN y INTEGER"
    assert pf.not_applied == ["CREATE INDEX ix ON x (y)"]
    text = pf.render(Invocation(environment="prod"))
    assert "stamp r2" in text and "Do not re-run" in text and "alembic_version still says r1" in text
    assert "`alembic -c alembic.ini -x env=prod stamp r2`" in text
    assert "`sluice upgrade --env prod` again" in text


def test_partial_failure_dml_after_last_ddl_was_rolled_back() -> None:
    cap = StepCapture("r2", [
        Executed("ALTER TABLE x ADD COLUMN y INTEGER", completed=True),
        Executed("UPDATE x SET y = 1", completed=True),
        Executed("UPDATE x SET z = 1", completed=False),
    ])
    pf = partial_failure(cap, error="boom", from_revision="r1", path=None,
                         rendered=["ALTER TABLE x ADD COLUMN y INTEGER", "UPDATE x SET y = 1",
                                   "UPDATE x SET z = 1"])
    assert pf.applied == ["ALTER TABLE x ADD COLUMN y INTEGER"]
    assert pf.not_applied == ["UPDATE x SET y = 1"]


def test_partial_failure_unaligned_says_so() -> None:
    cap = StepCapture("r2", [Executed("ALTER TABLE q ADD COLUMN z INT", completed=True),
                             Executed("DROP TABLE w", completed=False)])
    pf = partial_failure(cap, error="e", from_revision=None, path="r2.py",
                         rendered=["CREATE TABLE other (id INT)"])
    assert pf.not_applied is None and "differ" in (pf.note or "")
    assert "could not be determined" in pf.render()


def test_timeout_marker_read_without_import(tmp_path: Path) -> None:
    f = tmp_path / "r.py"
    f.write_text("import nonexistent_module\n"
                 "sluice_timeouts = {'lock_timeout': '2s', 'statement_timeout': '0'}\n")
    assert file_timeouts(f) == Timeouts(2000, 0)
    f.write_text("sluice_timeouts = {'lock': '2s'}\n")
    with pytest.raises(SluiceError, match="unknown key 'lock'"):
        file_timeouts(f)
    assert Timeouts(None, 5).over(Timeouts(7, 9)) == Timeouts(7, 5)
    with pytest.raises(SluiceError, match="must be a dict"):
        parse_marker("2s", "r.py")


def test_timeout_statements_per_dialect() -> None:
    class Dialect:
        def __init__(self, name: str) -> None:
            self.name = name

    class Conn:
        def __init__(self, name: str) -> None:
            self.dialect = Dialect(name)
            self.closed = False
            self.sql: list[str] = []

        def exec_driver_sql(self, s: str) -> None:
            self.sql.append(s)

    pg = Conn("postgresql")
    ap = TimeoutApplier(pg)  # type: ignore[arg-type]
    ap.apply(Timeouts(2000, None))
    ap.apply(Timeouts(None, 60_000))
    assert pg.sql == ["SET LOCAL lock_timeout = 2000", "SET LOCAL lock_timeout TO DEFAULT",
                      "SET LOCAL statement_timeout = 60000"]
    my = Conn("mysql")
    TimeoutApplier(my, mariadb=True).apply(Timeouts(1500, 2500))  # type: ignore[arg-type]
    assert my.sql == ["SET SESSION lock_wait_timeout = 2", "SET SESSION innodb_lock_wait_timeout = 2",
                      "SET SESSION max_statement_time = 2.500"]
    my2 = Conn("mysql")
    TimeoutApplier(my2).apply(Timeouts(None, 2500))  # type: ignore[arg-type]
    assert my2.sql == ["SET SESSION max_execution_time = 2500"]


def test_lock_names_are_stable_and_short() -> None:
    assert lock_name("shop") == "sluice:shop"  # one per database, whatever the version table
    assert len(lock_name("x" * 100)) <= 64
    assert advisory_key("a") == advisory_key("a") != advisory_key("b")


def test_sluice_tables_never_seen_by_autogenerate() -> None:
    cfg = parse_config({})
    assert table_excluded(cfg, "sluice_history") and table_excluded(cfg, "sluice_lock_holder")
    assert not table_excluded(cfg, "users")


SPECIAL = "p@ss:w/rd%?#"


def test_backup_password_never_on_the_command_line_nor_in_output(tmp_path: Path) -> None:
    """The child gets the password in PGPASSWORD; its argv and Sluice's line carry no form
    of it (raw or percent-encoded)."""
    from urllib.parse import quote, quote_plus

    from sqlalchemy.engine import URL

    script = tmp_path / "dump.py"
    script.write_text("import json, os, sys; json.dump({'argv': sys.argv[1:], "
                      "'pw': os.environ.get('PGPASSWORD')}, open('seen.json', 'w'))")
    url = URL.create("postgresql+psycopg", username="u", password=SPECIAL, host="db",
                     database="shop")
    result = run_backup(url, command=f"{sys.executable} {script} {{url}} {{user}}",
                        cwd=tmp_path, revision="base", target="head", env="prod")
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["pw"] == SPECIAL
    assert seen["argv"] == ["postgresql://u@db/shop", "u"]
    for form in (SPECIAL, quote(SPECIAL, safe=""), quote_plus(SPECIAL)):
        assert form not in result.description


def test_backup_failure_masks_the_encoded_password_too(tmp_path: Path) -> None:
    from urllib.parse import quote

    from sqlalchemy.engine import URL

    script = tmp_path / "fail.py"
    script.write_text(f"import sys; print('bad url postgresql://u:{quote(SPECIAL, safe='')}@db', "
                      "file=sys.stderr); sys.exit(1)")
    url = URL.create("postgresql+psycopg", username="u", password=SPECIAL, host="db",
                     database="shop")
    with pytest.raises(BackupFailed) as err:
        run_backup(url, command=f"{sys.executable} {script}", cwd=tmp_path, revision="base",
                   target="head", env="prod")
    assert "postgresql://u:***@db" in str(err.value)
    assert quote(SPECIAL, safe="") not in str(err.value)


def test_backup_template_with_password_is_refused() -> None:
    with pytest.raises(BackupFailed, match=r"\{password\} would put the database password on "
                                           r"the command line"):
        run_backup("mysql+pymysql://root:pw@h/db",
                   command="mysqldump -u {user} --password={password} {database}", cwd=".",
                   revision="base", target="head", env="prod")


def test_mysql_backup_gets_mysql_pwd(tmp_path: Path) -> None:
    script = tmp_path / "dump.py"
    script.write_text("import os; open('pw', 'w').write(os.environ['MYSQL_PWD'])")
    run_backup("mysql+pymysql://root:s3cret@h/db", command=f"{sys.executable} {script}",
               cwd=tmp_path, revision="base", target="head", env="prod")
    assert (tmp_path / "pw").read_text() == "s3cret"


def test_sqlite_backup_keeps_the_database_permissions(tmp_path: Path) -> None:
    import sqlite3
    import stat

    db = tmp_path / "app.db"
    sqlite3.connect(db).execute("create table t (x int)").connection.commit()
    db.chmod(0o600)
    result = run_backup(f"sqlite:///{db}", command=None, cwd=tmp_path, revision="r1",
                        target="head", env="prod")
    assert result.path is not None
    assert stat.S_IMODE(os.stat(result.path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_sqlite_backup_never_writes_through_a_symlink(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3
    import time

    db = tmp_path / "app.db"
    sqlite3.connect(db).execute("create table t (x int)").connection.commit()
    monkeypatch.setattr(time, "strftime", lambda *a: "T")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "app.db.T-r1.backup").symlink_to(victim)
    with pytest.raises(SluiceError, match="is a symlink to"):
        run_backup(f"sqlite:///{db}", command=None, cwd=tmp_path, revision="r1",
                   target="head", env="prod")
    assert victim.read_text() == "precious"


def test_lock_holder_table_of_an_older_version_gets_the_session_column(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE sluice_lock_holder (lock_name VARCHAR(190) PRIMARY KEY, "
                     "host VARCHAR(255), pid INTEGER, username VARCHAR(255), environment "
                     "VARCHAR(100), command VARCHAR(255), since DATETIME)")
    lock = MigrationLock(f"sqlite:///{db}", timeout_ms=0)
    lock.acquire()
    try:
        holder = lock.read_holder()
        assert holder is not None and holder.pid == os.getpid()
        lock.verify()
    finally:
        lock.release()
    with sqlite3.connect(db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(sluice_lock_holder)")]
        assert "session" in columns
        assert conn.execute("SELECT count(*) FROM sluice_lock_holder").fetchone()[0] == 0


def test_signals_are_held_while_sluice_writes_its_own_rows() -> None:
    """SIGTERM/SIGINT inside ``hold()`` (audit writes, version table reads, the lock) is
    raised when the block is done, never in the middle of it; outside it stops at once."""
    import signal

    from sluice.runner.run import Signals

    done: list[str] = []
    with Signals().installed() as signals:
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            with signals.hold():
                os.kill(os.getpid(), signal.SIGTERM)
                done.append("the rest of the block ran")
        assert done == ["the rest of the block ran"]
        with signals.hold(drop=True):  # releasing the lock at the end: the run is over
            os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt, match="SIGINT"):
            os.kill(os.getpid(), signal.SIGINT)
            done.append("not reached")
    assert done == ["the rest of the block ran"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
