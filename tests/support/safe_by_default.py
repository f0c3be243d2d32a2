"""The shop example edited for ``safe_by_default`` tests: its models, the lines changed in
them, the configuration, and what the database holds afterwards."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.support.project import edit

MODELS = ("shopapp", "models.py")

FULL_NAME = "    full_name: Mapped[str] = mapped_column(String(200))\n"
INDEXED = "    full_name: Mapped[str] = mapped_column(String(200), index=True)\n"
TOKEN = ("    token: Mapped[str] = mapped_column(\n"
         "        String(36), server_default=text(\"gen_random_uuid()::text\"))\n")
NICKNAME = "    nickname: Mapped[str | None] = mapped_column(String(30))\n"


def configure(shop: Path, extra: str = "", *, top: str = "safe_by_default = true\n") -> None:
    text = (shop / "sluice.toml").read_text(encoding="utf-8")
    text = text.replace('dangerous_ops = "error"\n', f'dangerous_ops = "error"\n{top}')
    (shop / "sluice.toml").write_text(text + extra, encoding="utf-8")


def change_models(shop: Path, *lines: str) -> None:
    models = shop.joinpath(*MODELS)
    edit(models, "from sqlalchemy import ForeignKey,", "from sqlalchemy import text, ForeignKey,")
    edit(models, FULL_NAME, "".join(lines))


def columns(url: str, table: str) -> dict[str, bool]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return {c["name"]: bool(c["nullable"]) for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()
