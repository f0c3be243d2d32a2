"""`sluice check` upgrade, drift and round trip on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from sluice.errors import SluiceError
from tests.support.check import DB_CHECKS, config, overlay, problems, run
from tests.support.db import tables
from tests.support.project import drop_legacy_field, edit


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


@pytest.fixture
def project(shop: Path) -> Path:
    return shop


def add_nickname_to_models(project: Path) -> None:
    edit(project / "shopapp" / "models.py",
         "    legacy_field: Mapped[str | None] = mapped_column(String(50))\n",
         "    legacy_field: Mapped[str | None] = mapped_column(String(50))\n"
         "    nickname: Mapped[str | None] = mapped_column(String(50))\n")


def test_clean_project_passes_on_every_backend(project: Path, db_url: str) -> None:
    report = run(project, *DB_CHECKS, url=db_url)
    assert [(r.name, r.status) for r in report.results] == [
        ("upgrade", "pass"), ("drift", "pass"), ("roundtrip", "pass")], [
        p.message for r in report.results for p in r.problems]
    assert report.result("upgrade").summary == "2 revisions applied, now at 0002"
    assert report.result("roundtrip").summary == \
        "2 of 2 revisions upgraded, downgraded and upgraded again"
    timings = report.result("roundtrip").data["revisions"]
    assert [t["revision"] for t in timings] == ["0001", "0002"]
    assert all(t["status"] == "ok" and t["downgrade_s"] >= 0 for t in timings)
    assert report.exit_code == 0


def test_model_drift_is_a_readable_diff_with_the_ops(project: Path, db_url: str) -> None:
    overlay(project, "db_only_column")
    add_nickname_to_models(project)
    report = run(project, "upgrade", "drift", url=db_url)
    assert report.result("upgrade").status == "pass"
    drift = report.result("drift")
    assert drift.status == "fail" and report.exit_code == 1
    [p] = drift.problems
    assert p.message == ("the database after `alembic upgrade head` differs from the models "
                         "in 2 places")
    assert "- column users.nickname: in the models (VARCHAR(50), NULL), missing from the " \
           "database" in p.details
    assert "- column users.middle_name: in the database (VARCHAR(100), NULL), not in the " \
           "models" in p.details
    assert "Autogenerate would write:" in p.details
    assert "sa.Column('nickname', sa.String(length=50), nullable=True))" in p.details
    assert "drop_column('middle_name')" in p.details or \
        "drop_column('users', 'middle_name')" in p.details
    assert f"`alembic -c {project / 'alembic.ini'} revision --autogenerate -m " in p.fix
    assert sorted(d["kind"] for d in drift.data["differences"]) == ["add_column", "remove_column"]


def test_downgrade_leaving_a_column_behind(project: Path, db_url: str) -> None:
    overlay(project, "leaves_column")
    report = run(project, "roundtrip", url=db_url)
    result = report.result("roundtrip")
    assert result.status == "fail"
    [p] = result.problems
    assert p.kind == "downgrade-incomplete"
    assert (p.path, p.line, p.revision) == ("migrations/versions/0003_nickname.py", 20, "0003")
    assert p.message == (
        "downgrade of revision 0003 does not restore the schema: column users.nickname "
        "(VARCHAR(50) NULL): exists after the downgrade, not before the upgrade")
    assert "op.drop_column('users', 'nickname')" in p.fix
    assert result.summary.startswith("2 of 3 revisions")


def test_downgrade_leaving_a_column_behind_after_upgrade_on_the_same_database(
        project: Path, db_url: str) -> None:
    """With a given --url the round trip first downgrades what the upgrade check did."""
    overlay(project, "leaves_column")
    add_nickname_to_models(project)
    edit(project / "shopapp" / "models.py", "class Product(Base):",
         "Index('ix_users_nickname', User.nickname)\n\n\nclass Product(Base):")
    edit(project / "shopapp" / "models.py", "from sqlalchemy import ForeignKey, Index,",
         "from sqlalchemy import ForeignKey, Index,")
    report = run(project, *DB_CHECKS, url=db_url)
    assert report.result("upgrade").status == "pass"
    assert report.result("drift").status == "pass", problems(report, "drift")
    [p] = report.result("roundtrip").problems
    assert (p.kind, p.revision) == ("downgrade-incomplete", "0003")


def test_leftover_that_survives_to_base_on_a_reused_database(project: Path, db_url: str) -> None:
    overlay(project, "no_downgrade")
    config(project, 'downgrades = "optional"\n')
    report = run(project, "upgrade", "roundtrip", url=db_url)
    [p] = report.result("roundtrip").problems
    assert p.kind == "downgrade-to-base-incomplete"
    assert p.message == ("downgrading from head to base did not give back the empty database: "
                         "table tags: exists after downgrading to base, not at the start")


def test_excluded_table_present_only_in_the_database_passes(project: Path, db_url: str) -> None:
    overlay(project, "excluded_table")
    execute(db_url, "CREATE TABLE tmp_legacy_export (id INTEGER PRIMARY KEY)")
    report = run(project, *DB_CHECKS, url=db_url)
    assert [(r.name, r.status) for r in report.results] == [
        ("upgrade", "pass"), ("drift", "pass"), ("roundtrip", "pass")], [
        p.message + p.details for r in report.results for p in r.problems]
    assert "tmp_legacy_export" in tables(db_url)


def test_the_excluded_table_would_be_drift_without_the_filter(project: Path) -> None:
    overlay(project, "excluded_table")
    (project / "sluice.toml").write_text("exclude_tables = []\n")
    [p] = run(project, "drift").result("drift").problems
    assert "table tmp_import: in the database, not in the models" in p.details


def test_failing_upgrade_names_revision_file_and_line(project: Path, db_url: str) -> None:
    overlay(project, "upgrade_fails")
    report = run(project, "upgrade", "drift", "roundtrip", url=db_url)
    [p] = report.result("upgrade").problems
    assert p.kind == "upgrade-failed"
    assert (p.path, p.line, p.revision) == ("migrations/versions/0003_bad_sql.py", 17, "0003")
    assert p.message.startswith("upgrade of revision 0003 failed: ")
    assert "no_such_table" in p.message and "\n" not in p.message
    assert report.result("drift").status == "skip"
    assert report.result("roundtrip").status == "skip"
    assert report.exit_code == 1


def test_non_empty_database_is_refused_and_left_alone(project: Path, db_url: str) -> None:
    execute(db_url, "CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    with pytest.raises(SluiceError) as err:
        run(project, "upgrade", url=db_url)
    assert "database is not empty (1 table: customers)" in str(err.value)
    assert "pass --scratch" in str(err.value) and err.value.hint is None  # one line
    assert tables(db_url) == {"customers"}


def test_irreversible_revision_is_skipped_and_the_rest_round_trips(project: Path) -> None:
    overlay(project, "irreversible")
    add_nickname_to_models(project)
    drop_legacy_field(project)
    report = run(project, *DB_CHECKS)
    assert report.exit_code == 0, [p.message for r in report.results for p in r.problems]
    result = report.result("roundtrip")
    assert result.summary == "3 of 4 revisions upgraded, downgraded and upgraded again"
    assert result.notes == [
        "0003 is irreversible on purpose (its downgrade raises): not round-tripped"]
    statuses = {t["revision"]: t["status"] for t in result.data["revisions"]}
    assert statuses == {"0001": "ok", "0002": "ok", "0003": "irreversible", "0004": "ok"}


def test_irreversible_revision_blocks_reusing_a_given_database(project: Path,
                                                                tmp_path: Path) -> None:
    overlay(project, "irreversible")
    add_nickname_to_models(project)
    edit(project / "shopapp" / "models.py",
         "    legacy_field: Mapped[str | None] = mapped_column(String(50))\n", "")
    report = run(project, *DB_CHECKS, url=f"sqlite:///{tmp_path / 'given.db'}")
    result = report.result("roundtrip")
    assert result.status == "error" and report.exit_code == 2
    assert "Use --scratch" in result.problems[0].fix
    # the same project round-trips fine on a database of its own
    assert run(project, "roundtrip", url=f"sqlite:///{tmp_path / 'other.db'}").exit_code == 0


def test_merge_revisions_round_trip(project: Path, db_url: str) -> None:
    overlay(project, "merged")
    report = run(project, "roundtrip", url=db_url)
    result = report.result("roundtrip")
    assert result.status == "pass", [p.message for p in result.problems]
    assert [t["revision"] for t in result.data["revisions"]][-1] == "0005"
    assert len(result.data["revisions"]) == 5


def test_roundtrip_latest_n(project: Path) -> None:
    overlay(project, "leaves_column")
    report = run(project, "roundtrip", last=1)
    result = report.result("roundtrip")
    assert [t["revision"] for t in result.data["revisions"]] == ["0003"]
    assert result.status == "fail"
    config(project, "[check]\nroundtrip_last = 2\n")
    result = run(project, "roundtrip").result("roundtrip")
    assert [t["revision"] for t in result.data["revisions"]] == ["0002", "0003"]


def test_env_py_that_ignores_the_url_is_stopped_before_any_migration(project: Path,
                                                                      tmp_path: Path) -> None:
    elsewhere = tmp_path / "production.db"
    edit(project / "migrations" / "env.py",
         "    connectable = engine_from_config(",
         f"    config.set_main_option('sqlalchemy.url', 'sqlite:///{elsewhere}')\n"
         "    connectable = engine_from_config(")
    with pytest.raises(SluiceError) as err:
        run(project, "upgrade")
    assert "migrations/env.py: env.py connected to sqlite:///" in str(err.value)
    assert "stopped before running any migration" in str(err.value)
    assert tables(f"sqlite:///{elsewhere}") == set()


def test_env_py_without_target_metadata_cannot_check_drift(project: Path) -> None:
    edit(project / "migrations" / "env.py", "target_metadata = Base.metadata",
         "target_metadata = None")
    report = run(project, "upgrade", "drift")
    drift = report.result("drift")
    assert drift.status == "error" and report.exit_code == 2
    assert drift.problems[0].kind == "no-target-metadata"
    assert drift.problems[0].path == "migrations/env.py"


def test_env_py_that_never_commits_is_caught(project: Path, pg_url: str) -> None:
    """PostgreSQL has transactional DDL: without begin_transaction() nothing is committed."""
    edit(project / "migrations" / "env.py",
         "        with context.begin_transaction():\n            context.run_migrations()\n\n"
         "\nif", "        context.run_migrations()\n\n\nif")
    [p] = run(project, "upgrade", url=pg_url).result("upgrade").problems
    assert p.kind == "upgrade-not-committed"
    assert "begin_transaction" in p.fix


def test_service_head_that_depends_on_another_head(multiservice: Path, db_url: str) -> None:
    """billing's head depends on shared's: Alembic records only billing's row for both."""
    report = run(multiservice, *DB_CHECKS, url=db_url)
    assert [(r.name, r.status) for r in report.results] == [
        ("upgrade", "pass"), ("drift", "pass"), ("roundtrip", "pass")], [
        p.message for r in report.results for p in r.problems]


def test_depended_on_service_that_moved_on(multiservice: Path) -> None:
    """shared has a revision after the one billing depends on: both heads are recorded."""
    (multiservice / "migrations" / "versions" / "shared" / "s0002_nickname.py").write_text(
        '"""shared: nickname"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        'revision = "s0002"\ndown_revision = "s0001"\nbranch_labels = None\n'
        'depends_on = None\n\n\ndef upgrade() -> None:\n'
        '    op.create_index("ix_users_full_name", "users", ["full_name"])\n\n\n'
        'def downgrade() -> None:\n    op.drop_index("ix_users_full_name", "users")\n')
    report = run(multiservice, "upgrade", "roundtrip")
    assert [(r.name, r.status) for r in report.results] == [
        ("upgrade", "pass"), ("roundtrip", "pass")], [
        p.message for r in report.results for p in r.problems]


def test_only_drift_upgrades_first(project: Path) -> None:
    report = run(project, "drift")
    assert [r.name for r in report.results] == ["drift"]
    assert report.result("drift").status == "pass"


def server_databases(url: str) -> set[str]:
    """The scratch databases on the server made by this process (its pid is in their
    names): another test worker's check may create and drop its own meanwhile."""
    from sluice.scratch import server_engine

    engine = server_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                rows = conn.execute(sa.text("SELECT datname FROM pg_database"))
            else:
                rows = conn.execute(sa.text("SHOW DATABASES"))
            return {r[0] for r in rows
                    if r[0].startswith("sluice_check") and f"_{os.getpid()}_" in r[0]}
    finally:
        engine.dispose()


@pytest.fixture(params=["postgresql", "mysql"])
def server(request: pytest.FixtureRequest) -> str:
    from tests.support.servers import server_url

    return server_url(request.param)


def test_scratch_database_is_created_and_dropped(project: Path, server: str) -> None:
    before = server_databases(server)
    report = run(project, *DB_CHECKS, url=server, scratch=True)
    assert report.exit_code == 0, [p.message for r in report.results for p in r.problems]
    assert report.database.startswith("scratch databases on ")
    # the server, not the database the URL names
    assert make_url(report.database.removeprefix("scratch databases on ")).database is None
    assert server_databases(server) == before


def test_scratch_database_is_dropped_on_failure_and_interrupt(project: Path, server: str) -> None:
    before = server_databases(server)
    overlay(project, "upgrade_fails")
    assert run(project, "upgrade", url=server, scratch=True).exit_code == 1
    assert server_databases(server) == before
    edit(project / "migrations" / "versions" / "0003_bad_sql.py",
         '    op.execute("UPDATE no_such_table SET x = 1")', "    raise KeyboardInterrupt")
    with pytest.raises(KeyboardInterrupt):
        run(project, "upgrade", url=server, scratch=True)
    assert server_databases(server) == before


def test_unreachable_server_is_one_line(project: Path) -> None:
    url = "postgresql+psycopg://sluice:secret@127.0.0.1:1/nowhere"
    with pytest.raises(SluiceError) as err:
        run(project, "upgrade", url=url)
    message = str(err.value)
    assert message.startswith("postgresql+psycopg://sluice:***@127.0.0.1:1/nowhere: cannot connect")
    assert "secret" not in message and "\n" not in message


def test_check_url_from_config_expands_variables(project: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLUICE_TEST_CHECK_DB", str(tmp_path / "ci.db"))
    config(project, '[check]\nurl = "sqlite:///${SLUICE_TEST_CHECK_DB}"\n')
    report = run(project, "upgrade")
    assert report.database == f"sqlite:///{tmp_path / 'ci.db'}"
    assert "users" in tables(f"sqlite:///{tmp_path / 'ci.db'}")
    monkeypatch.delenv("SLUICE_TEST_CHECK_DB")
    with pytest.raises(SluiceError) as err:
        run(project, "upgrade")
    assert str(err.value) == (f"{project / 'sluice.toml'}:3: check.url: environment variable "
                              "SLUICE_TEST_CHECK_DB is not set")


@pytest.mark.skipif(os.name == "nt", reason="POSIX paths")
def test_temporary_sqlite_is_removed(project: Path, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    report = run(project, *DB_CHECKS)
    assert report.database == "a temporary SQLite database"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_sqlite_snapshot_cache_rereads_only_changed_tables(tmp_path: Path) -> None:
    from sluice.check.snapshot import SnapshotCache, diff_snapshots, take_snapshot

    url = f"sqlite:///{tmp_path / 's.db'}"
    execute(url, "CREATE TABLE a (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL)",
            "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id))")
    engine = sa.create_engine(url)
    cache: SnapshotCache = {}
    try:
        with engine.connect() as conn:
            first = take_snapshot(conn, schemas=[None], skip=set(), cache=cache)
            conn.execute(sa.text("ALTER TABLE b ADD COLUMN note VARCHAR(5) DEFAULT 'x'"))
            conn.execute(sa.text("CREATE UNIQUE INDEX ix_b_note ON b (note)"))
            cached = take_snapshot(conn, schemas=[None], skip=set(), cache=cache)
            fresh = take_snapshot(conn, schemas=[None], skip=set())
    finally:
        engine.dispose()
    assert cached == fresh
    assert cached["a"] is first["a"]  # unchanged: reused, not re-read
    assert [(d.change, d.target) for d in diff_snapshots(first, cached)] == [
        ("extra", "column b.note"), ("extra", "index ix_b_note on b")]
