"""SL102 set-not-null-without-default: the backfill its fix suggests is of the table the
revision alters, in that table's schema."""

from __future__ import annotations

from pathlib import Path

from sluice.config import SluiceConfig
from sluice.lint.registry import all_rules, run_rules
from sluice.lint.static import analyze_file

HEAD = '''"""r"""
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade():
'''


def _fixes(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "r1.py"
    path.write_text(HEAD + body + "\n\ndef downgrade():\n    pass\n", encoding="utf-8")
    result = analyze_file(path)
    assert result.error is None, result.error
    found = run_rules(result.ops, SluiceConfig(), dialect="postgresql",
                      rules=[all_rules()["SL102"]])
    return [f.fix for f in sorted(found, key=lambda f: f.line or 0)]


def test_backfill_hint_names_the_schema_of_the_table(tmp_path: Path) -> None:
    in_schema, with_default, plain = _fixes(tmp_path, '''\
    op.alter_column("orders", "status", nullable=False, schema="Billing")
    op.alter_column("users", "plan", nullable=False, server_default="free", schema="audit")
    op.alter_column("accounts", "tier", nullable=False)''')
    assert ("sluice.data.batched_update('orders', {'status': ...}, where=<col> IS NULL, "
            "schema='Billing')") in in_schema, in_schema
    assert "sluice.data.batched_update('users', {'plan': ...}, where=<col> IS NULL, " \
           "schema='audit')" in with_default, with_default
    assert "sluice.data.batched_update('accounts', {'tier': ...}, where=<col> IS NULL)" \
           in plain, plain
    assert "schema=" not in plain
