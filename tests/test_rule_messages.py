"""Finding messages read as one sentence (SL001 said "drops table users deletes users and
all its rows")."""

from __future__ import annotations

from pathlib import Path

from sluice.lint.engine import lint_project
from tests.support.runner import Rev, chain, make_project


def test_drop_table_message(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", [*chain(1), Rev("r0002", 'op.drop_table("t0001")')])
    (found,) = [f for f in lint_project(ini, use_cache=False).findings if f.rule == "SL001"]
    assert found.message == ("drops table t0001 and all its rows; code still reading it "
                             "fails at once")


def test_an_index_on_an_expression_is_pasted_as_sa_text(tmp_path: Path) -> None:
    # the fix read ['created DESC'], which Alembic renders as the column "created DESC"
    ini = make_project(tmp_path / "proj", [*chain(1), Rev(
        "r0002", 'op.create_index("ix_t_name", "t0001", [sa.text("name DESC"), "id"])')])
    text = ini.read_text()
    ini.write_text("\n".join("sqlalchemy.url = postgresql://u@db.example/app"
                             if line.startswith("sqlalchemy.url") else line
                             for line in text.splitlines()) + "\n")
    (found,) = [f for f in lint_project(ini, use_cache=False).findings if f.rule == "SL201"]
    assert "[sa.text('name DESC'), 'id'], postgresql_concurrently=True" in found.fix


def test_a_drop_constraint_type_written_as_a_unicode_literal(tmp_path: Path) -> None:
    # CKAN writes type_=u"foreignkey"; the message said "drops u'foreignkey constraint ..."
    ini = make_project(tmp_path / "proj", [*chain(1), Rev(
        "r0002", 'op.drop_constraint(u"fk_t_a", u"t0001", type_=u"foreignkey")')])
    (found,) = [f for f in lint_project(ini, use_cache=False).findings if f.rule == "SL004"]
    assert found.message == ("drops foreign key constraint fk_t_a on t0001; invalid rows can "
                             "be written from then on")


def test_a_raw_drop_table_names_the_table(tmp_path: Path) -> None:
    # it said "DROP TABLE in op.execute and all its rows", naming no table
    ini = make_project(tmp_path / "proj", [*chain(1), Rev(
        "r0002", "op.execute(u'DROP TABLE IF EXISTS t0001')")])
    (found,) = [f for f in lint_project(ini, use_cache=False).findings if f.rule == "SL001"]
    assert found.message == ("drops table t0001 and all its rows; code still reading it "
                             "fails at once")


def test_a_varchar_extension_that_copies_only_in_utf8mb4_says_so(tmp_path: Path) -> None:
    # VARCHAR(32) to VARCHAR(64) copies a utf8mb4 table (the length prefix grows past 255
    # bytes) but not a utf8mb3 one (192 bytes): Ironic's tables were utf8mb3 then
    ini = make_project(tmp_path / "proj", [*chain(1), Rev(
        "r0002", 'op.alter_column("t0001", "user", existing_type=sa.String(length=32), '
                 'type_=sa.String(length=64), existing_nullable=True)')])
    text = ini.read_text()
    ini.write_text("\n".join("sqlalchemy.url = mysql+pymysql://u@db.example/app"
                             if line.startswith("sqlalchemy.url") else line
                             for line in text.splitlines()) + "\n")
    (found,) = [f for f in lint_project(ini, use_cache=False).findings if f.rule == "SL301"]
    assert found.message.startswith(
        "extending t0001.user from VARCHAR(32) to VARCHAR(64) copies the whole table on MySQL "
        "8.0 (ALGORITHM=COPY) when the column is utf8mb4 (its length prefix grows past 255 "
        "bytes; a utf8mb3 column stays in place):")


def test_a_bulk_change_names_the_ddl_on_its_own_table(tmp_path: Path) -> None:
    # CKAN 106: add_column on "group", its UPDATE, add_column on package, its UPDATE; the
    # second UPDATE was said to hold the lock of add_column on group, not on package
    ini = make_project(tmp_path / "proj", [*chain(2), Rev("r0003", "\n".join([
        'op.add_column("t0001", sa.Column("extras", sa.Text(), nullable=True))',
        "op.execute(\"UPDATE t0001 SET extras = name WHERE name IS NOT NULL\")",
        'op.add_column("t0002", sa.Column("extras", sa.Text(), nullable=True))',
        'op.execute("UPDATE t0002 SET extras = name")']))])
    text = ini.read_text()
    ini.write_text("\n".join("sqlalchemy.url = postgresql://u@db.example/app"
                             if line.startswith("sqlalchemy.url") else line
                             for line in text.splitlines()) + "\n")
    found = lint_project(ini, use_cache=False).findings
    (update,) = [f for f in found if f.rule == "SL501"]
    assert "it runs after add_column on t0002.extras (line 18)" in update.message
    (bulk,) = [f for f in found if f.rule == "SL402"]
    assert "bulk change of t0001 runs in the same transaction as add_column on t0001.extras" \
        in bulk.message
