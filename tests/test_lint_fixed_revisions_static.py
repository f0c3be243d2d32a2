"""A revision ``sluice fix`` rewrote is read statically: its ``conventional_name(...)``
steps are SQL templates of a name, which the static layer fills with the name as written
(env.py's naming convention may change it at run time; what the rules read does not
depend on it). Before, every fixed revision rendered offline ("imported code"), so a
project that used ``sluice fix`` lost the static layer's speed."""

from __future__ import annotations

from pathlib import Path

from sluice.core.findings import Finding
from sluice.lint.engine import lint_project
from sluice.lint.static import analyze_file
from tests.support.cli import run_cli
from tests.support.runner import Rev, make_project

CREATE = '''op.create_table("items", sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("price", sa.Integer()))
op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("item_id", sa.Integer()), sa.Column("code", sa.String(20)))'''
CHANGE = '''op.create_check_constraint("price_positive", "items", "price >= 0")
op.create_index("ix_orders_item", "orders", ["item_id"])
op.create_foreign_key("fk_orders_item", "orders", "items", ["item_id"], ["id"])
op.create_unique_constraint("uq_orders_code", "orders", ["code"])'''


def _fixed(tmp_path: Path) -> Path:
    ini = make_project(tmp_path / "proj", [Rev("r0001", CREATE), Rev("r0002", CHANGE)])
    text = ini.read_text()
    ini.write_text("\n".join("sqlalchemy.url = postgresql://u@db.example/app"
                             if line.startswith("sqlalchemy.url") else line
                             for line in text.splitlines()) + "\n")
    assert run_cli(["fix", "-c", ini]).exit_code == 0
    assert "conventional_name(" in (ini.parent / "migrations/versions/r0002.py").read_text()
    return ini


def _key(f: Finding) -> tuple[object, ...]:
    return (f.rule, f.line, f.message)


def test_a_fixed_revision_reads_statically_with_the_findings_of_a_render(
        tmp_path: Path) -> None:
    ini = _fixed(tmp_path)
    static = lint_project(ini, use_cache=False)
    assert static.coverage.rendered == 0, static.coverage.line()
    assert static.coverage.read_statically == 2, static.coverage.line()
    rendered = lint_project(ini, use_cache=False, render_all=True)
    assert rendered.coverage.rendered == 2, rendered.coverage.line()
    assert static.findings and \
        sorted(map(_key, static.findings)) == sorted(map(_key, rendered.findings))


def test_a_name_the_static_layer_cannot_read_still_renders(tmp_path: Path) -> None:
    ini = _fixed(tmp_path)
    path = ini.parent / "migrations/versions/r0002.py"
    text = path.read_text().replace("'price_positive'", "NAMES['ck']", 1)
    path.write_text(text.replace("import sqlalchemy as sa\n",
                                 "import sqlalchemy as sa\nimport os\n"
                                 "NAMES = {'ck': os.environ.get('CK', 'price_positive')}\n", 1))
    result = lint_project(ini, use_cache=False)
    assert result.coverage.rendered == 1, result.coverage.line()


def test_the_templates_are_read_with_the_name_as_written(tmp_path: Path) -> None:
    ini = _fixed(tmp_path)
    ops = analyze_file(ini.parent / "migrations/versions/r0002.py").ops
    sql = [o.sql for o in ops if o.kind == "execute" and o.phase == "upgrade"]
    assert any("ADD CONSTRAINT price_positive CHECK (price >= 0) NOT VALID" in (s or "")
               for s in sql), sql
    assert "ALTER TABLE items VALIDATE CONSTRAINT price_positive" in sql
    assert any("conname = 'fk_orders_item'" in (s or "") for s in sql), sql
    assert None not in sql


DATA_STEP = '''op.add_column("items", sa.Column("note", sa.Text()))
batched_update(sa.table("items", sa.column("id"), sa.column("price")), {"price": 0},
               step="zero prices")'''


def test_a_data_step_revision_reads_statically_with_the_findings_of_a_render(
        tmp_path: Path) -> None:
    # offline a sluice.data step runs no operation: rendering it added nothing but time
    ini = make_project(tmp_path / "proj", [
        Rev("r0001", CREATE),
        Rev("r0002", DATA_STEP, header="from sluice.data import batched_update")])
    static = lint_project(ini, use_cache=False)
    assert static.coverage.rendered == 0, static.coverage.line()
    rendered = lint_project(ini, use_cache=False, render_all=True)
    assert rendered.coverage.rendered == 2, rendered.coverage.line()
    assert sorted(map(_key, static.findings)) == sorted(map(_key, rendered.findings))
