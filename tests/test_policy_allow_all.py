"""Autogenerate refusing several operations: each refusal gives its own override, and a
last line gives one command with all of them, which, copied, writes the revision (each
single command alone is refused again for the others)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic.util import CommandError

from tests.support.project import autogenerate, drop_legacy_field, edit, upgrade


def test_two_refusals_end_with_one_command_for_both(shop: Path) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    upgrade(shop, url)
    drop_legacy_field(shop)
    edit(shop / "shopapp" / "models.py", "    quantity: Mapped[int] = mapped_column(default=1)\n",
         "")
    with pytest.raises(CommandError) as err:
        autogenerate(shop, url)
    message = str(err.value)
    assert message.startswith("refused 2 dangerous operations")
    last = message.splitlines()[-2:]
    assert last[0] == "- all 2 at once, after review:"
    command = last[1].strip()
    assert command == ("alembic -x allow=drop_column:orders.quantity "
                       "-x allow=drop_column:users.legacy_field revision --autogenerate -m \"...\"")
    allows = re.findall(r"-x (allow=\S+)", command)
    written = autogenerate(shop, url, *allows)
    assert len(written) == 1


def test_one_refusal_has_no_extra_line(shop: Path) -> None:
    url = f"sqlite:///{shop / 'dev.db'}"
    upgrade(shop, url)
    drop_legacy_field(shop)
    with pytest.raises(CommandError) as err:
        autogenerate(shop, url)
    assert "at once" not in str(err.value)
