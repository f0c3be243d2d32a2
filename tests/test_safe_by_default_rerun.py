"""safe_by_default writes revisions that can run again after a failure Sluice says to
rerun after: the plain operations before a recipe's commits go in a revision of their own,
so that a rerun after a failed backfill does not run them twice."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from tests.support.project import autogenerate, cfg, edit, upgrade
from tests.support.safe_by_default import (
    FULL_NAME,
    MODELS,
    NICKNAME,
    TOKEN,
    change_models,
    columns,
    configure,
)

LEGACY = "    legacy_field: Mapped[str | None] = mapped_column(String(50))\n"


def _sql(url: str, *statements: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


@pytest.mark.postgres
def test_postgres_rerun_after_a_failed_backfill_does_not_repeat_plain_ops(
        shop: Path, pg_url: str) -> None:
    configure(shop)
    upgrade(shop, pg_url)
    _sql(pg_url, "INSERT INTO users (id, email, full_name) SELECT g, 'u' || g || '@x.org', "
                 "'n' || g FROM generate_series(100, 300) g")
    change_models(shop, FULL_NAME, NICKNAME, TOKEN)
    edit(shop.joinpath(*MODELS), LEGACY, "")
    paths = autogenerate(shop, pg_url, "allow=drop_column:users.legacy_field")
    texts = {p: p.read_text() for p in paths}
    (prepare,) = [p for p, t in texts.items() if "[prepare]" in t]
    (recipes,) = [p for p, t in texts.items() if "batched_update(" in t.split("def downgrade")[0]]
    first, second = texts[prepare], texts[recipes]
    assert "op.add_column('users', sa.Column('nickname'" in first
    # after the last commit: committed with the version row, it stays
    up = second.split("def downgrade")[0]
    assert up.index("batched_update(") < up.index("op.drop_column('users', 'legacy_field')")
    assert "autocommit_block" not in first and "nickname" not in second.split("def downgrade")[0]
    assert f"down_revision: Union[str, Sequence[str], None] = '{prepare.name[:12]}'" in second

    # the backfill fails part way (a trigger refuses the update) ...
    _sql(pg_url,
         "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
         "$$ BEGIN RAISE EXCEPTION 'backfill refused'; END $$",
         "CREATE TRIGGER refuse BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION refuse()")
    with pytest.raises(Exception, match="backfill refused"):
        upgrade(shop, pg_url)
    # ... the cause is fixed and the upgrade run again: it resumes and finishes
    _sql(pg_url, "DROP TRIGGER refuse ON users", "DROP FUNCTION refuse()")
    upgrade(shop, pg_url)
    cols = columns(pg_url, "users")
    assert "nickname" in cols and "legacy_field" not in cols and cols["token"] is False
    command.downgrade(cfg(shop, pg_url), "0002")
    cols = columns(pg_url, "users")
    assert "nickname" not in cols and "token" not in cols and "legacy_field" in cols


@pytest.mark.postgres
def test_postgres_refused_run_announces_no_revision(shop: Path, pg_url: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A refusal after the recipes split the revision: the split is not announced, since
    no file is written."""
    configure(shop)
    upgrade(shop, pg_url)
    change_models(shop, FULL_NAME, TOKEN)
    edit(shop.joinpath(*MODELS), LEGACY, "")
    capsys.readouterr()
    with pytest.raises(Exception, match="refused 1 dangerous operation"):
        autogenerate(shop, pg_url)
    err = capsys.readouterr().err
    assert "safe_by_default:" not in err and "(expand)" not in err, err
    assert not list((shop / "migrations" / "versions").glob("*auto*.py"))
