"""Autogenerate policies through the real `alembic revision --autogenerate`, on every backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.util import CommandError

from tests.support.cli import run_cli
from tests.support.doc_commands import assert_suggestions_parse
from tests.support.project import autogenerate, drop_legacy_field, edit, upgrade


def set_config(project: Path, extra: str) -> None:
    (project / "sluice.toml").write_text(
        'exclude_tables = ["tmp_*", "*_bak"]\nprotected_tables = ["payments"]\n' + extra,
        encoding="utf-8",
    )


def test_empty_revision_refused_and_nothing_written(shop: Path, db_url: str) -> None:
    upgrade(shop, db_url)
    with pytest.raises(CommandError, match="no schema changes detected; no revision written") \
            as refused:
        autogenerate(shop, db_url)
    # (said without claiming the file sets it: a project that sets no key got "in FILE")
    assert "empty_revision is 'error'; 'skip' or 'allow' in " in str(refused.value)
    assert "= 'error' in" not in str(refused.value)
    assert sorted(p.name for p in (shop / "migrations" / "versions").glob("*.py")) == [
        "0001_users_and_products.py", "0002_orders_and_demo_data.py"]


@pytest.mark.parametrize(("mode", "files"), [("skip", 0), ("allow", 1)])
def test_empty_revision_skip_and_allow(shop: Path, mode: str, files: int) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    set_config(shop, f'empty_revision = "{mode}"\n')
    upgrade(shop, url)
    assert len(autogenerate(shop, url)) == files


def test_hand_written_revision_is_never_refused(shop: Path) -> None:
    from alembic import command

    from tests.support.project import cfg

    (shop / "alembic.ini").write_text(
        (shop / "alembic.ini").read_text().replace("[alembic]\n", "[alembic]\nrevision_environment = true\n"))
    url = f"sqlite:///{shop / 'dev.db'}"
    upgrade(shop, url)
    command.revision(cfg(shop, url), message="by hand")
    assert len(list((shop / "migrations" / "versions").glob("*by_hand.py"))) == 1


def test_dropped_column_refused_with_explanation(shop: Path, db_url: str) -> None:
    upgrade(shop, db_url)
    drop_legacy_field(shop)
    with pytest.raises(CommandError) as err:
        autogenerate(shop, db_url)
    msg = str(err.value)
    assert "refused 1 dangerous operation; no revision written" in msg
    assert "drop_column users.legacy_field [SL002 drop-column]" in msg
    assert "Stop using users.legacy_field in code" in msg
    assert "alembic -x allow=drop_column:users.legacy_field revision --autogenerate" in msg
    assert_suggestions_parse(msg)
    assert len(list((shop / "migrations" / "versions").glob("*.py"))) == 2


def test_allowed_drop_is_written_with_comment_and_header(shop: Path, db_url: str) -> None:
    upgrade(shop, db_url)
    drop_legacy_field(shop)
    (path,) = autogenerate(shop, db_url, "allow=drop_column:users.legacy_field")
    text = path.read_text()
    assert text.startswith("# Sluice review: 1 operation (environment: dev)\n")
    assert "#   [HIGH  ] drop_column users.legacy_field" in text
    assert ("# sluice: allowed drop_column:users.legacy_field (SL002 drop-column) "
            "by -x allow=drop_column:users.legacy_field") in text
    # The comment sits right above the op it allows, and the file still runs.
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if "sluice: allowed" in line and line.lstrip().startswith("# sluice"))
    assert "drop_column('legacy_field')" in lines[i + 1] or "drop_column('users', 'legacy_field')" in lines[i + 1]
    upgrade(shop, db_url)
    cols = {c["name"] for c in sa.inspect(sa.create_engine(db_url)).get_columns("users")}
    assert "legacy_field" not in cols


def test_allowed_operation_is_a_reviewed_suppression_for_lint(shop: Path) -> None:
    """What was allowed when the revision was generated is not reported again by
    `sluice lint`, the pre-commit hook (lint of files) or the upgrade guard (same engine)."""

    from sluice.lint.engine import lint_project

    url = f"sqlite:///{shop / 'dev.db'}"
    upgrade(shop, url)
    drop_legacy_field(shop)
    (path,) = autogenerate(shop, url, "allow=drop_column:users.legacy_field")
    rev = path.name.split("_")[0]
    res = lint_project(shop / "alembic.ini", revisions=[rev], use_cache=False)
    assert not [f for f in res.findings if f.rule in ("SL002", "SL902", "SL901")], [
        (f.rule, f.line, f.message) for f in res.findings]
    (silenced,) = [f for f in res.suppressed if f.rule == "SL002"]
    assert "legacy_field" in silenced.message
    hook = run_cli(["lint", "-c", str(shop / "alembic.ini"), str(path),
                    "--format", "json"])
    report = json.loads(hook.stdout)
    assert "SL002" not in {f["rule"] for f in report["findings"]}
    # listed as reviewed, with the reason, not as harmless
    assert [(f["rule"], f["severity"], f["suppressed"]) for f in report["suppressed"]] == [
        ("SL002", "error", "allowed drop_column:users.legacy_field by "
         "-x allow=drop_column:users.legacy_field when generated")]
    # a hand-edited second drop in the same revision is still reported
    text = path.read_text()
    path.write_text(text.replace("    # ### end Alembic commands ###",
                                 "    op.drop_column('users', 'email')\n"
                                 "    # ### end Alembic commands ###", 1))
    res = lint_project(shop / "alembic.ini", revisions=[rev], use_cache=False)
    assert [f.message for f in res.findings if f.rule == "SL002"] == [
        "drops column users.email and its data; running code that still selects it will fail"]


def test_allow_from_environment_variable(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    upgrade(shop, url)
    drop_legacy_field(shop)
    monkeypatch.setenv("SLUICE_ALLOW", "drop_column:users.*")
    (path,) = autogenerate(shop, url)
    assert "by SLUICE_ALLOW=drop_column:users.*" in path.read_text()


def test_warn_mode_writes_with_warning(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    set_config(shop, 'dangerous_ops = "warn"\n')
    upgrade(shop, url)
    drop_legacy_field(shop)
    (path,) = autogenerate(shop, url)
    assert "# sluice: error: drops column users.legacy_field" in path.read_text()
    assert "sluice: warning: drop_column users.legacy_field" in capsys.readouterr().err


def test_environment_override_of_dangerous_ops(shop: Path) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    set_config(shop, '[environments.dev]\ndangerous_ops = "warn"\n[environments.prod]\n')
    upgrade(shop, url)
    drop_legacy_field(shop)
    with pytest.raises(CommandError, match="refused"):
        autogenerate(shop, url, "env=prod")
    assert len(autogenerate(shop, url, "env=dev")) == 1


def test_dropped_table_and_index_refused(shop: Path, db_url: str) -> None:
    upgrade(shop, db_url)
    edit(shop / "shopapp" / "models.py",
         '    __table_args__ = (Index("ix_orders_user_id", "user_id"),)\n', "")
    with pytest.raises(CommandError, match=r"drop_index:orders.ix_orders_user_id"):
        autogenerate(shop, db_url)
    text = (shop / "shopapp" / "models.py").read_text()
    start = text.index("class Order(Base):")
    (shop / "shopapp" / "models.py").write_text(text[:start])
    with pytest.raises(CommandError, match=r"drop_table orders \[SL001 drop-table\]"):
        autogenerate(shop, db_url)


def test_not_null_and_narrowing_type_refused(shop: Path, db_url: str) -> None:
    upgrade(shop, db_url)
    edit(shop / "shopapp" / "models.py",
         "legacy_field: Mapped[str | None] = mapped_column(String(50))",
         "legacy_field: Mapped[str] = mapped_column(String(50))")
    with pytest.raises(CommandError, match=r"SL102 set-not-null-without-default"):
        autogenerate(shop, db_url)
    edit(shop / "shopapp" / "models.py",
         "legacy_field: Mapped[str] = mapped_column(String(50))",
         "legacy_field: Mapped[str | None] = mapped_column(String(10))")
    if db_url.startswith("sqlite"):
        # SQLite ignores a declared VARCHAR length: narrowing loses nothing there
        (path,) = autogenerate(shop, db_url)
        assert "alter_column users.legacy_field" in path.read_text()
        return
    with pytest.raises(CommandError, match=r"length shrinks from 50 to 10") as refused:
        autogenerate(shop, db_url)
    if db_url.startswith("mysql"):  # judged for the server autogenerate is connected to
        engine = sa.create_engine(db_url)
        with engine.connect() as conn:
            mariadb = conn.dialect.is_mariadb  # type: ignore[attr-defined]
            major, minor = conn.dialect.server_version_info[:2]  # type: ignore[index]
        engine.dispose()
        label = f"{'MariaDB' if mariadb else 'MySQL'} {major}.{minor}"
        assert label in str(refused.value) and "assumed" not in str(refused.value)


def test_widening_type_and_new_column_are_allowed(shop: Path, db_url: str) -> None:
    upgrade(shop, db_url)
    edit(shop / "shopapp" / "models.py",
         "legacy_field: Mapped[str | None] = mapped_column(String(50))",
         # (within 63 characters: MySQL extends the VARCHAR in place; to 64 or more
         # the utf8mb4 length prefix grows and MySQL copies the table, SL301)
         "legacy_field: Mapped[str | None] = mapped_column(String(60))\n"
         "    nickname: Mapped[str | None] = mapped_column(String(30))")
    (path,) = autogenerate(shop, db_url)
    text = path.read_text()
    # MySQL commits each DDL statement on its own: a second one in the revision is SL303,
    # reported from the first DDL statement on ("starting here")
    risk = "MEDIUM" if db_url.startswith("mysql") else "low   "
    assert f"[{risk}] add_column users.nickname" in text
    assert "[low   ] alter_column users.legacy_field" in text


PAYMENT = '''

class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[float] = mapped_column(Numeric(10, 2))
'''


def test_protected_table_refused(shop: Path) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    models = shop / "shopapp" / "models.py"
    models.write_text(models.read_text() + PAYMENT)
    set_config(shop, 'empty_revision = "allow"\n')
    upgrade(shop, url)
    autogenerate(shop, url, message="payments")  # creating a protected table is fine
    upgrade(shop, url)
    models.write_text(models.read_text() + "    note: Mapped[str | None] = mapped_column(String(20))\n")
    with pytest.raises(CommandError, match=r"touches protected table payments \(matches protected_tables 'payments'\)"):
        autogenerate(shop, url)
    assert len(autogenerate(shop, url, "allow=add_column:payments.note")) == 1


def test_new_protected_table_comes_with_its_own_indexes(shop: Path) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    models = shop / "shopapp" / "models.py"
    models.write_text(models.read_text() + PAYMENT.replace(
        "mapped_column(Numeric(10, 2))", "mapped_column(Numeric(10, 2), index=True)"))
    set_config(shop, "")
    upgrade(shop, url)
    (path,) = autogenerate(shop, url, message="payments")  # the table and its index
    text = path.read_text()
    assert "create_index" in text and "f('ix_payments_amount')" in text


def test_excluded_tables_never_appear(shop: Path, db_url: str) -> None:
    upgrade(shop, db_url)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE tmp_import (id INTEGER PRIMARY KEY)"))
        conn.execute(sa.text("CREATE TABLE users_bak (id INTEGER PRIMARY KEY, email VARCHAR(20))"))
        conn.execute(sa.text("CREATE INDEX ix_users_bak_email ON users_bak (email)"))
        conn.execute(sa.text("CREATE TABLE sluice_data_progress (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    # Only excluded tables differ: still an empty revision.
    with pytest.raises(CommandError, match="no schema changes"):
        autogenerate(shop, db_url)
    edit(shop / "shopapp" / "models.py",
         "    created_at:", "    nickname: Mapped[str | None] = mapped_column(String(30))\n    created_at:")
    (path,) = autogenerate(shop, db_url)
    text = path.read_text()
    assert "nickname" in text
    assert "tmp_import" not in text and "users_bak" not in text
    assert "sluice_data_progress" not in text


USER_ENV = '''
from pathlib import Path
calls = Path(__file__).parent / "calls.log"


def my_include_object(obj, name, type_, reflected, compare_to):
    with calls.open("a") as fh:
        fh.write(f"object {type_} {name}\\n")
    return name != "users_note"


def my_directives(context, revision, directives):
    with calls.open("a") as fh:
        fh.write("directives\\n")
    directives[0].message = "renamed by user hook"

'''


def test_user_callbacks_are_chained(shop: Path) -> None:
    env_py = shop / "migrations" / "env.py"
    text = env_py.read_text()
    text = text.replace("config = context.config\n", "config = context.config\n" + USER_ENV)
    text = text.replace(
        "**configure_options(config),\n        )\n\n        with context.begin_transaction():\n            context.run_migrations()\n\n\nif",
        "**configure_options(config, include_object=my_include_object,"
        " process_revision_directives=my_directives),\n        )\n\n"
        "        with context.begin_transaction():\n            context.run_migrations()\n\n\nif")
    env_py.write_text(text)
    url = f"sqlite:///{shop / 'dev.db'}"
    upgrade(shop, url)
    edit(shop / "shopapp" / "models.py", "    created_at:",
         "    nickname: Mapped[str | None] = mapped_column(String(30))\n"
         "    users_note: Mapped[str | None] = mapped_column(String(30))\n    created_at:")
    (path,) = autogenerate(shop, url)
    log = (shop / "migrations" / "calls.log").read_text()
    assert "object column nickname" in log and "directives" in log
    text = path.read_text()
    assert '"""renamed by user hook' in text
    assert "nickname" in text and "users_note" not in text
