"""Service configuration errors found while autogenerating name the file, the line and
the key as sluice.toml spells it (no ``tool.sluice.`` prefix that file does not have)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.util import CommandError

from sluice.config import load_config
from sluice.errors import ConfigError
from sluice.policy.services import owner_of
from tests.support.multiservice import ms_autogenerate, upgrade_all
from tests.support.project import edit


def test_a_table_claimed_twice_names_the_second_claim_in_sluice_toml(
        multiservice: Path) -> None:
    toml = multiservice / "sluice.toml"
    edit(toml, 'tables = ["product*", "categor*"]', 'tables = ["product*", "categor*", "inv*"]')
    line = toml.read_text().splitlines().index(
        'tables = ["product*", "categor*", "inv*"]') + 1
    with pytest.raises(ConfigError) as err:
        owner_of(load_config(multiservice), "invoices")
    message = str(err.value)
    assert message.startswith(f"{toml}:{line}: services.catalog.tables: table 'invoices' is "
                              "claimed by both 'billing' and 'catalog'")
    assert "tool.sluice" not in message


def test_a_misspelt_version_location_names_the_file_and_line(multiservice: Path) -> None:
    url = f"sqlite:///{multiservice / 'dev.db'}"
    upgrade_all(multiservice, url)
    edit(multiservice / "msapp" / "models.py",
         "    paid_at: Mapped[datetime] = mapped_column(server_default=func.now())\n",
         "    paid_at: Mapped[datetime] = mapped_column(server_default=func.now())\n"
         "    reference: Mapped[str | None] = mapped_column(String(64))\n")
    toml = multiservice / "sluice.toml"
    edit(toml, 'version_location = "migrations/versions/billing"',
         'version_location = "migrations/versions/biling"')
    line = toml.read_text().splitlines().index(
        'version_location = "migrations/versions/biling"') + 1
    with pytest.raises(CommandError) as err:
        ms_autogenerate(multiservice, url, "service=billing")
    assert str(err.value).startswith(
        f"{toml}:{line}: services.billing.version_location 'migrations/versions/biling' ")


def test_a_misspelt_service_names_the_closest(multiservice: Path) -> None:
    from sluice.policy.services import resolve_service

    with pytest.raises(ConfigError) as err:
        resolve_service(load_config(multiservice), {"service": "biling"})
    assert str(err.value).startswith("unknown service 'biling' (from -x service=biling); "
                                     "did you mean 'billing'? valid: billing, catalog, ")
