"""A project that lint reads statically (env.py is never run), and probes that run the
``sluice`` command in a fresh interpreter and write its exit code and ``sys.modules``
to a JSON file (``python -c RUN REPORT ARGS...``; ``FAST``: the console script's way)."""

from __future__ import annotations

from pathlib import Path

RUN = """
import json, sys
from sluice.integrations.cli import main
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as out:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, out)
"""


#: :data:`RUN` through the console script's entry point (``sluice lint`` as typed takes
#: its fast way there).
FAST = RUN.replace("from sluice.integrations.cli import main",
                   "from sluice.integrations.cli.fast import run as main")


REVISION = '''\
"""create orders

Revision ID: {rev}
"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("orders_{rev}", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("UPDATE accounts SET plan = 'free' WHERE plan IS NULL")


def downgrade() -> None:
    op.drop_table("orders_{rev}")
'''

#: A revision after :func:`project`'s two: a plain ``create_index`` on an existing table
#: (an SL201 finding with a recipe).
INDEX = '''\
"""index

Revision ID: b000
"""
from alembic import op

revision = "b000"
down_revision = "a001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_id", "orders_a000", ["id"])


def downgrade() -> None:
    op.drop_index("ix_orders_id", table_name="orders_a000")
'''


def project(root: Path, revisions: int = 2) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "migrations" / "env.py").write_text("raise SystemExit('env.py is never run')\n")
    down = None
    for i in range(revisions):
        rev = f"a{i:03d}"
        (versions / f"{rev}.py").write_text(REVISION.format(rev=rev, down=down))
        down = rev
    ini = root / "alembic.ini"
    ini.write_text("[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
                   "sqlalchemy.url = postgresql://app@db/app\n")
    return ini


def helper_project(root: Path, package: str, init_source: str) -> Path:
    """A PostgreSQL project at ``root`` whose revisions can import ``package`` (a folder
    beside alembic.ini, ``prepend_sys_path``) holding ``init_source``; returns ``root``."""
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\nprepend_sys_path = %(here)s\n"
        "path_separator = os\nsqlalchemy.url = postgresql://u@localhost/db\n"
    )
    (root / "sluice.toml").write_text('[lint]\ndialects = ["postgresql"]\n')
    (root / package).mkdir()
    (root / package / "__init__.py").write_text(init_source)
    return root


def dangerous_shop(shop: Path) -> Path:
    """The shop example with a revision that drops a column (SL002); its alembic.ini."""
    from tests.support.revisions import DANGEROUS  # lazy: only these tests need it

    (shop / "migrations" / "versions" / "0003_drop.py").write_text(
        DANGEROUS.format(rev="0003", down="0002"))
    return shop / "alembic.ini"


def lint_rules(ini: Path) -> list[str]:
    """The rules of a fresh in-process lint's findings, sorted."""
    from sluice.lint.engine import lint_project
    from tests.support.modules import forget_modules  # lazy: only these tests need it

    forget_modules(ini.parent)
    return sorted(f.rule for f in lint_project(ini).findings)
