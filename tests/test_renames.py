"""Rename detection through the real `alembic revision --autogenerate`, on every backend."""

from __future__ import annotations

import importlib
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.operations import ops as alembic_ops
from alembic.util import CommandError

from sluice.policy.renames import find_candidates, name_similarity, types_compatible
from tests.support.doc_commands import assert_suggestions_parse
from tests.support.project import autogenerate, cfg, edit, upgrade

MODELS = Path("shopapp") / "models.py"
prompt_mod = importlib.import_module("sluice.integrations.prompt")


def rename_full_name(project: Path, new: str = "fullname") -> None:
    edit(project / MODELS, "    full_name: Mapped[str] = mapped_column(String(200))\n",
         f"    {new}: Mapped[str] = mapped_column(String(200))\n")


def rename_products(project: Path) -> None:
    edit(project / MODELS, '    __tablename__ = "products"', '    __tablename__ = "catalog_items"')
    edit(project / MODELS, 'ForeignKey("products.id")', 'ForeignKey("catalog_items.id")')


def configure_renames(project: Path, line: str) -> None:
    with (project / "sluice.toml").open("a") as fh:
        fh.write(f"\n[renames]\n{line}\n")


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def execute(url: str, sql: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def seed_user(url: str) -> None:
    execute(url, "INSERT INTO users (id, email, full_name, legacy_field) "
                 "VALUES (1, 'ada@example.com', 'Ada Lovelace', NULL)")


# --------------------------------------------------------------------------- detection


def test_name_similarity() -> None:
    assert name_similarity("fullname", "full_name") == 1.0
    assert name_similarity("email", "email_address") >= 0.6
    assert name_similarity("legacy_field", "nickname") < 0.6


def test_type_compatibility() -> None:
    assert types_compatible(sa.String(100), sa.String(200))
    assert types_compatible(sa.Integer(), sa.BigInteger())
    assert types_compatible(sa.String(50), sa.Text())
    assert not types_compatible(sa.String(50), sa.Integer())
    assert not types_compatible(sa.DateTime(), sa.Boolean())


def _modify(table: str, *ops: object) -> alembic_ops.ModifyTableOps:
    return alembic_ops.ModifyTableOps(table, list(ops))


def _drop(table: str, name: str, type_: object) -> alembic_ops.DropColumnOp:
    return alembic_ops.DropColumnOp.from_column_and_tablename(None, table, sa.Column(name, type_))


def _add(table: str, name: str, type_: object) -> alembic_ops.AddColumnOp:
    return alembic_ops.AddColumnOp(table, sa.Column(name, type_))


def test_candidates_pair_each_column_once_by_best_score() -> None:
    ops = [_modify("users",
                   _add("users", "full_name", sa.String(200)),
                   _add("users", "email_address", sa.String(200)),
                   _drop("users", "fullname", sa.String(100)),
                   _drop("users", "email", sa.String(100)),
                   _drop("users", "age", sa.Integer()))]
    found = {(c.old, c.new) for c in find_candidates(ops)}
    assert found == {("fullname", "full_name"), ("email", "email_address")}


def test_incompatible_type_or_dissimilar_name_is_no_candidate() -> None:
    ops = [_modify("users", _add("users", "fullname", sa.Integer()),
                   _drop("users", "full_name", sa.String(100)))]
    assert find_candidates(ops) == []
    ops = [_modify("users", _add("users", "nickname", sa.String(50)),
                   _drop("users", "legacy_field", sa.String(50)))]
    assert find_candidates(ops) == []
    # ... unless the config says it is a rename.
    (cand,) = find_candidates(ops, {"users.legacy_field": "users.nickname"})
    assert (cand.old_key, cand.new_key) == ("users.legacy_field", "users.nickname")


# --------------------------------------------------------------------------- column renames


def test_unconfirmed_column_rename_is_refused_with_both_options(shop: Path, db_url: str) -> None:
    upgrade(shop, db_url)
    rename_full_name(shop)
    with pytest.raises(CommandError) as err:
        autogenerate(shop, db_url)
    msg = str(err.value)
    assert msg.startswith("refused 1 possible rename written as drop + add; no revision written")
    assert ("column users.full_name dropped and users.fullname added (String(length=200)): "
            "looks like a rename of users.full_name to users.fullname") in msg
    assert '[renames]\n       "users.full_name" = "users.fullname"' in msg
    assert "If you really mean drop and add (the data is lost):\n" \
           "     alembic -x allow=drop_column:users.full_name revision --autogenerate" in msg
    assert_suggestions_parse(msg)
    assert len(list((shop / "migrations" / "versions").glob("*.py"))) == 2


def test_configured_column_rename_keeps_the_data(shop: Path, db_url: str) -> None:
    upgrade(shop, db_url)
    seed_user(db_url)
    rename_full_name(shop)
    configure_renames(shop, '"users.full_name" = "users.fullname"')
    (path,) = autogenerate(shop, db_url)
    text = path.read_text()
    assert "new_column_name='fullname'" in text
    assert "drop_column" not in text and "add_column" not in text
    assert "# sluice: rename users.full_name -> users.fullname (renames in sluice.toml)" in text
    assert "alter_column users.full_name (renamed to fullname)" in text  # review header
    upgrade(shop, db_url)
    assert rows(db_url, "SELECT fullname FROM users") == [("Ada Lovelace",)]
    with pytest.raises(CommandError, match="no schema changes detected"):
        autogenerate(shop, db_url)
    command.downgrade(cfg(shop, db_url), "-1")
    assert rows(db_url, "SELECT full_name FROM users") == [("Ada Lovelace",)]


def test_allowed_drop_stays_a_drop_and_add(shop: Path, db_url: str) -> None:
    upgrade(shop, db_url)
    rename_full_name(shop)
    # the added column is NOT NULL without a default (SL106, refused like the drop)
    (path,) = autogenerate(shop, db_url,
                           "allow=drop_column:users.full_name,add_column:users.fullname")
    text = path.read_text()
    assert "new_column_name" not in text
    assert "# sluice: allowed drop_column:users.full_name" in text
    assert "add_column" in text


def test_warn_mode_warns_and_writes_drop_and_add(shop: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    edit(shop / "sluice.toml", 'dangerous_ops = "error"', 'dangerous_ops = "warn"')
    upgrade(shop, url)
    rename_full_name(shop)
    (path,) = autogenerate(shop, url)
    assert "sluice: warning: possible rename written as drop + add" in capsys.readouterr().err
    assert "new_column_name" not in path.read_text()


@pytest.mark.parametrize(("answer", "renamed"), [("y\n", True), ("n\n", False)])
def test_interactive_confirmation(shop: Path, monkeypatch: pytest.MonkeyPatch,
                                  answer: str, renamed: bool) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    upgrade(shop, url)
    rename_full_name(shop)
    monkeypatch.setattr(prompt_mod, "is_interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    if renamed:
        (path,) = autogenerate(shop, url)
        assert "new_column_name='fullname'" in path.read_text()
        assert "(confirmed at the prompt)" in path.read_text()
    else:
        # Not a rename: the drop is judged like any other drop.
        with pytest.raises(CommandError, match=r"drop_column users.full_name \[SL002"):
            autogenerate(shop, url)


def test_prompt_interrupted_writes_nothing(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    upgrade(shop, url)
    rename_full_name(shop)
    monkeypatch.setattr(prompt_mod, "is_interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # EOF, like Ctrl-D
    with pytest.raises(CommandError, match="stopped at the rename prompt; no revision written"):
        autogenerate(shop, url)
    assert len(list((shop / "migrations" / "versions").glob("*.py"))) == 2


def test_never_interactive_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty())
    monkeypatch.setenv("CI", "true")
    assert not prompt_mod.is_interactive()
    monkeypatch.delenv("CI")
    assert prompt_mod.is_interactive()


# --------------------------------------------------------------------------- table renames


def test_unconfirmed_table_rename_is_refused(shop: Path) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    upgrade(shop, url)
    rename_products(shop)
    with pytest.raises(CommandError) as err:
        autogenerate(shop, url)
    msg = str(err.value)
    assert "table products dropped and table catalog_items created with the same columns" in msg
    assert '"products" = "catalog_items"' in msg
    assert "alembic -x allow=drop_table:products revision --autogenerate" in msg


def test_configured_table_rename_keeps_data_and_foreign_keys(shop: Path, db_url: str) -> None:
    upgrade(shop, db_url)
    seed_user(db_url)
    execute(db_url, "INSERT INTO orders (id, user_id, product_id, quantity) "
                    "SELECT 1, 1, id, 2 FROM products WHERE sku = 'DEMO-1'")
    rename_products(shop)
    configure_renames(shop, '"products" = "catalog_items"')
    (path,) = autogenerate(shop, db_url)
    text = path.read_text()
    assert "op.rename_table('products', 'catalog_items')" in text
    assert "create_table" not in text and "drop_table" not in text
    assert "drop_constraint" not in text and "create_foreign_key" not in text
    upgrade(shop, db_url)
    assert rows(db_url, "SELECT c.sku FROM orders o JOIN catalog_items c "
                        "ON c.id = o.product_id") == [("DEMO-1",)]
    with pytest.raises(CommandError, match="no schema changes detected"):
        autogenerate(shop, db_url)
    command.downgrade(cfg(shop, db_url), "-1")
    assert rows(db_url, "SELECT count(*) FROM products") == [(2,)]
