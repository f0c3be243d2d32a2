"""Services sharing one database, on the real multi-service example, on every backend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic.util import CommandError

from sluice.config import parse_config
from sluice.errors import ConfigError
from sluice.policy.services import owner_of, resolve_service, table_visible
from tests.support.db import columns, tables, versions
from tests.support.multiservice import (
    edit,
    module_value,
    ms_autogenerate,
    ms_downgrade,
    ms_upgrade,
    upgrade_all,
)

MODELS = Path("msapp") / "models.py"


def add_billing_and_catalog_columns(project: Path) -> None:
    edit(project / MODELS,
         "    paid_at: Mapped[datetime] = mapped_column(server_default=func.now())\n",
         "    paid_at: Mapped[datetime] = mapped_column(server_default=func.now())\n"
         "    reference: Mapped[str | None] = mapped_column(String(64))\n")
    edit(project / MODELS,
         "    active: Mapped[bool] = mapped_column(server_default=sa.true())\n",
         "    active: Mapped[bool] = mapped_column(server_default=sa.true())\n"
         "    weight_grams: Mapped[int | None]\n")


def add_shared_table(project: Path) -> None:
    edit(project / MODELS, "# --- billing", (
        'class Team(Base):\n    __tablename__ = "users_teams"\n\n'
        "    id: Mapped[int] = mapped_column(primary_key=True)\n\n\n"
        "class PaymentMethod(Base):\n"
        '    __tablename__ = "payment_methods"\n\n'
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
        '    team_id: Mapped[int] = mapped_column(ForeignKey("users_teams.id"))\n\n\n'
        "# --- billing"))
    edit(project / "sluice.toml", 'tables = ["users"]', 'tables = ["users*"]')


# --------------------------------------------------------------------------- ownership


def test_owner_of_and_visibility() -> None:
    cfg = parse_config({"services": {
        "billing": {"tables": ["invoice*", "payment*"]},
        "catalog": {"tables": ["product*"]},
        "reporting": {"tables": ["report_*"], "version_table": "reporting_version"},
    }})
    assert owner_of(cfg, "invoices") == "billing"
    assert owner_of(cfg, "products") == "catalog"
    assert owner_of(cfg, "users") is None
    assert table_visible(cfg, "billing", "invoices")
    assert not table_visible(cfg, "billing", "products")
    assert not table_visible(cfg, "billing", "users")
    assert table_visible(cfg, None, "users")
    assert not table_visible(cfg, None, "report_daily")  # another environment's table
    assert not table_visible(cfg, None, "reporting_version")
    assert not table_visible(cfg, "reporting", "alembic_version")
    assert resolve_service(cfg, {}, "reporting") == "reporting"
    assert resolve_service(cfg, {"service": "billing"}, "reporting") == "billing"
    assert resolve_service(cfg, {}, "alembic") is None


def test_table_matched_by_two_services_is_an_error_naming_both() -> None:
    cfg = parse_config({"services": {"billing": {"tables": ["invoice*"]},
                                     "catalog": {"tables": ["*s"]}}})
    with pytest.raises(ConfigError, match="table 'invoices' is claimed by both 'billing' and "
                                          "'catalog'"):
        owner_of(cfg, "invoices")


@pytest.mark.parametrize(("services", "message"), [
    ({"a": {"tables": ["x"], "branch_label": "l"}, "b": {"tables": ["y"], "branch_label": "l"}},
     "tool.sluice.services.b.branch_label: 'l' is already the branch label of 'a'"),
    ({"a": {"tables": ["x"], "version_table": "v"}, "b": {"tables": ["y"], "version_table": "v"}},
     "tool.sluice.services.b.version_table: 'v' is already the version table of 'a'"),
    ({"a": {"tables": ["x"], "branch_label": "a@b"}}, "is not usable as an Alembic branch label"),
    ({"a": {}}, "tool.sluice.services.a.tables: a service must own at least one table"),
])
def test_service_config_errors(services: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"services": services})


def test_real_table_claimed_twice_fails_autogenerate(multiservice: Path) -> None:
    url = f"sqlite:///{multiservice / 'dev.db'}"
    upgrade_all(multiservice, url)
    edit(multiservice / "sluice.toml", 'tables = ["product*", "categor*"]',
         'tables = ["product*", "categor*", "inv*"]')
    with pytest.raises(CommandError, match="table 'invoices' is claimed by both 'billing' "
                                           "and 'catalog'"):
        ms_autogenerate(multiservice, url)


def test_unowned_model_table_is_a_warning(multiservice: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{multiservice / 'dev.db'}"
    upgrade_all(multiservice, url)
    edit(multiservice / "sluice.toml", 'tables = ["users"]', 'tables = ["nothing_yet"]')
    add_billing_and_catalog_columns(multiservice)
    (path,) = ms_autogenerate(multiservice, url, "service=billing")
    assert "sluice: warning: tables owned by no service: users" in capsys.readouterr().err


def test_unowned_changes_without_a_trunk_are_refused_with_a_command(multiservice: Path) -> None:
    from tests.support.doc_commands import assert_suggestions_parse

    url = f"sqlite:///{multiservice / 'dev.db'}"
    upgrade_all(multiservice, url)
    edit(multiservice / "sluice.toml", 'tables = ["users"]', 'tables = ["nothing_yet"]')
    edit(multiservice / MODELS, "    email: Mapped[str]", "    nickname: Mapped[str | None]\n"
         "    email: Mapped[str]")
    with pytest.raises(CommandError) as err:
        ms_autogenerate(multiservice, url)
    message = str(err.value)
    assert "every head belongs to a service branch" in message
    assert 'alembic -x service=NAME revision --autogenerate -m "..."' in message
    assert_suggestions_parse(message)


def test_unknown_service_lists_the_valid_ones(multiservice: Path) -> None:
    url = f"sqlite:///{multiservice / 'dev.db'}"
    with pytest.raises(CommandError, match=r"unknown service 'shipping' \(from -x "
                                           r"service=shipping\); valid: billing, catalog, "
                                           r"reporting, shared"):
        ms_autogenerate(multiservice, url, "service=shipping")


# --------------------------------------------------------------------------- scoped runs


def test_example_has_no_drift(multiservice: Path, db_url: str) -> None:
    upgrade_all(multiservice, db_url)
    with pytest.raises(CommandError, match="no schema changes detected"):
        ms_autogenerate(multiservice, db_url)
    with pytest.raises(CommandError, match="no schema changes detected"):
        ms_autogenerate(multiservice, db_url, name="reporting")


def test_scoped_autogenerate_sees_only_the_service(multiservice: Path, db_url: str) -> None:
    upgrade_all(multiservice, db_url)
    add_billing_and_catalog_columns(multiservice)
    (path,) = ms_autogenerate(multiservice, db_url, "service=billing")
    assert path.parent.name == "billing"
    text = path.read_text()
    assert "reference" in text and "weight_grams" not in text
    assert module_value(path, "down_revision") == "b0001"
    assert module_value(path, "branch_labels") is None
    ms_upgrade(multiservice, db_url, "billing@head")
    assert "reference" in columns(db_url, "payments")
    assert "weight_grams" not in columns(db_url, "products")
    # catalog's change is still pending, and lands on catalog's branch.
    (path2,) = ms_autogenerate(multiservice, db_url, "service=catalog")
    assert path2.parent.name == "catalog"
    assert module_value(path2, "down_revision") == "c0001"
    ms_upgrade(multiservice, db_url)
    # s0001 is implied by billing's dependency on it, so Alembic does not store it.
    assert versions(db_url) == {path.name.split("_")[0], path2.name.split("_")[0]}


def test_new_service_starts_its_own_branch(multiservice: Path, db_url: str) -> None:
    upgrade_all(multiservice, db_url)
    edit(multiservice / "alembic.ini", "%(here)s/migrations/versions/catalog\n",
         "%(here)s/migrations/versions/catalog %(here)s/migrations/versions/shipping\n")
    with (multiservice / "sluice.toml").open("a") as fh:
        fh.write('\n[services.shipping]\ntables = ["shipment*"]\n'
                 'version_location = "migrations/versions/shipping"\n')
    with (multiservice / MODELS).open("a") as fh:
        fh.write('\n\nclass Shipment(Base):\n    __tablename__ = "shipments"\n\n'
                 "    id: Mapped[int] = mapped_column(primary_key=True)\n"
                 '    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))\n')
    (path,) = ms_autogenerate(multiservice, db_url, "service=shipping")
    assert path.parent.name == "shipping"
    assert module_value(path, "down_revision") is None
    assert module_value(path, "branch_labels") == ("shipping",)
    assert module_value(path, "depends_on") == "s0001"  # shipments.user_id -> users
    ms_upgrade(multiservice, db_url, "shipping@head")
    assert "shipments" in tables(db_url)
    # The new branch applies cleanly on an empty database too, after what it depends on.
    ms_downgrade(multiservice, db_url, "base")
    assert tables(db_url) <= {"alembic_version", "report_daily_sales", "reporting_version"}
    ms_upgrade(multiservice, db_url, "shipping@head")
    assert {"users", "shipments"} <= tables(db_url)
    assert "invoices" not in tables(db_url)


def test_branch_with_two_heads_is_refused_with_merge_command(multiservice: Path) -> None:
    url = f"sqlite:///{multiservice / 'dev.db'}"
    upgrade_all(multiservice, url)
    for rev in ("b0002", "b0003"):
        (multiservice / "migrations" / "versions" / "billing" / f"{rev}.py").write_text(
            f'revision = "{rev}"\ndown_revision = "b0001"\nbranch_labels = None\n'
            "depends_on = None\n\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n")
    ms_upgrade(multiservice, url)
    add_billing_and_catalog_columns(multiservice)
    with pytest.raises(CommandError) as err:
        ms_autogenerate(multiservice, url, "service=billing")
    assert "branch 'billing' has 2 heads (b0002, b0003)" in str(err.value)
    # with the run's -x (tests/test_policy_hints.py runs it)
    assert ("`alembic -x service=billing merge -m 'merge billing heads' b0002 b0003`"
            in str(err.value))


# --------------------------------------------------------------------------- separate version table


def test_service_with_own_version_table(multiservice: Path, db_url: str) -> None:
    upgrade_all(multiservice, db_url)
    assert versions(db_url, "reporting_version") == {"r0001"}
    assert "r0001" not in versions(db_url)
    edit(multiservice / MODELS,
         '    total: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default="0")\n',
         '    total: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default="0")\n'
         "    orders: Mapped[int | None]\n")
    add_billing_and_catalog_columns(multiservice)
    # The shared environment never sees reporting's tables ...
    written = ms_autogenerate(multiservice, db_url)
    assert all("report_daily_sales" not in p.read_text() for p in written)
    # ... and reporting's own environment sees only them.
    (path,) = ms_autogenerate(multiservice, db_url, name="reporting")
    assert path.parent.name == "reporting"
    assert "orders" in path.read_text() and "weight_grams" not in path.read_text()
    ms_upgrade(multiservice, db_url, "head", name="reporting")
    assert versions(db_url, "reporting_version") == {path.name.split("_")[0]}
    assert "orders" in columns(db_url, "report_daily_sales")


def test_own_version_table_needs_its_own_environment(multiservice: Path) -> None:
    url = f"sqlite:///{multiservice / 'dev.db'}"
    # the example has the section: the message names it and how to run it (-n)
    with pytest.raises(CommandError, match=r"service 'reporting' keeps its own version_table "
                                           r"'reporting_version'.*that environment is section "
                                           r"\[reporting\]: run it with -n reporting, not "
                                           r"-x service=reporting: `alembic -n reporting "
                                           r"\.\.\.`, `sluice check -n reporting`"):
        ms_upgrade(multiservice, url, "heads", "service=reporting")
    # without it, the message says which section to add
    ini = multiservice / "alembic.ini"
    text = ini.read_text(encoding="utf-8")
    start, end = text.index("\n[reporting]\n"), text.index("\n[post_write_hooks]\n")
    ini.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(CommandError, match=r"add a \[reporting\] section with "
                                           r"version_locations = migrations/versions/reporting "
                                           r"and run it with -n reporting"):
        ms_upgrade(multiservice, url, "heads", "service=reporting")


# --------------------------------------------------------------------------- split by service


def test_split_by_service(multiservice: Path, db_url: str) -> None:
    upgrade_all(multiservice, db_url)
    add_billing_and_catalog_columns(multiservice)
    add_shared_table(multiservice)
    written = ms_autogenerate(multiservice, db_url, message="more")
    by_folder = {p.parent.name: p for p in written}
    assert sorted(by_folder) == ["billing", "catalog", "shared"]
    shared, billing, catalog = by_folder["shared"], by_folder["billing"], by_folder["catalog"]
    assert "users_teams" in shared.read_text() and "payment" not in shared.read_text()
    assert "payment_methods" in billing.read_text() and "reference" in billing.read_text()
    assert "weight_grams" in catalog.read_text() and "payment" not in catalog.read_text()
    assert module_value(shared, "down_revision") == "s0001"
    assert module_value(billing, "down_revision") == "b0001"
    assert module_value(catalog, "down_revision") == "c0001"
    # payment_methods.team_id -> users_teams: billing's revision depends on shared's new one.
    assert module_value(billing, "depends_on") == module_value(shared, "revision")
    assert module_value(billing, "revision") != module_value(catalog, "revision")
    assert "more [billing]" in billing.read_text()
    assert billing.read_text().startswith("# Sluice review: 2 operations")
    # Every split revision upgrades and downgrades cleanly.
    ms_upgrade(multiservice, db_url)
    assert {"users_teams", "payment_methods"} <= tables(db_url)
    with pytest.raises(CommandError, match="no schema changes detected"):
        ms_autogenerate(multiservice, db_url)
    ms_downgrade(multiservice, db_url, "billing@-1")
    ms_downgrade(multiservice, db_url, "catalog@-1")
    ms_downgrade(multiservice, db_url, "shared@-1")
    assert "payment_methods" not in tables(db_url)
    assert "weight_grams" not in columns(db_url, "products")
    assert versions(db_url) == {"b0001", "c0001"}


# --------------------------------------------------------------------------- expand / contract


def expand_and_contract_changes(project: Path) -> None:
    """billing: one column added, one dropped; catalog: a column made NOT NULL."""
    edit(project / MODELS,
         '    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default="0")\n',
         '    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default="0")\n'
         "    due_on: Mapped[date | None]\n")
    edit(project / MODELS,
         "    paid_at: Mapped[datetime] = mapped_column(server_default=func.now())\n", "")
    edit(project / MODELS,
         '    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))\n',
         '    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))\n')


def test_expand_contract_split(multiservice: Path, db_url: str) -> None:
    upgrade_all(multiservice, db_url)
    expand_and_contract_changes(multiservice)
    allow = "allow=drop_column:payments.paid_at,alter_column:products.category_id"
    written = ms_autogenerate(multiservice, db_url, "split=expand-contract", allow)
    phases = {(p.parent.name, module_value(p, "sluice_phase")): p for p in written}
    assert sorted(phases) == [("billing", "contract"), ("billing", "expand"),
                              ("catalog", "contract")]
    expand, contract = phases[("billing", "expand")], phases[("billing", "contract")]
    assert "due_on" in expand.read_text() and "paid_at" not in expand.read_text()
    assert re.search(r"drop_column\(('payments', )?'paid_at'\)", contract.read_text())
    assert "due_on" not in contract.read_text()
    assert module_value(expand, "down_revision") == "b0001"
    assert module_value(contract, "down_revision") == module_value(expand, "revision")
    assert "auto [billing, contract]" in contract.read_text()
    assert "# sluice: contract step: removes what the expand step replaced" in contract.read_text()
    assert "# sluice: allowed drop_column:payments.paid_at" in contract.read_text()
    tighten = phases[("catalog", "contract")]
    assert "nullable=False" in tighten.read_text()
    assert module_value(tighten, "down_revision") == "c0001"
    # Deploy 1: the expand step alone; the old column is still there for running code.
    ms_upgrade(multiservice, db_url, module_value(expand, "revision"))  # type: ignore[arg-type]
    assert {"due_on"} <= columns(db_url, "invoices")
    assert "paid_at" in columns(db_url, "payments")
    # Deploy 2: the contract steps.
    ms_upgrade(multiservice, db_url)
    assert "paid_at" not in columns(db_url, "payments")
    with pytest.raises(CommandError, match="no schema changes detected"):
        ms_autogenerate(multiservice, db_url)
    # Both steps downgrade cleanly.
    ms_downgrade(multiservice, db_url, "billing@-1")
    assert "paid_at" in columns(db_url, "payments") and "due_on" in columns(db_url, "invoices")
    ms_downgrade(multiservice, db_url, "billing@-1")
    ms_downgrade(multiservice, db_url, "catalog@-1")
    assert "due_on" not in columns(db_url, "invoices")
    assert versions(db_url) == {"b0001", "c0001"}


def test_contract_step_still_needs_explicit_allow(multiservice: Path) -> None:
    url = f"sqlite:///{multiservice / 'dev.db'}"
    upgrade_all(multiservice, url)
    expand_and_contract_changes(multiservice)
    with pytest.raises(CommandError, match=r"-x allow=drop_column:payments.paid_at"):
        ms_autogenerate(multiservice, url, "split=expand-contract", "service=billing")
    assert not list((multiservice / "migrations" / "versions" / "billing").glob("*auto*"))


def test_expand_contract_from_config_and_turned_off_per_run(multiservice: Path) -> None:
    url = f"sqlite:///{multiservice / 'dev.db'}"
    upgrade_all(multiservice, url)
    edit(multiservice / "sluice.toml", 'exclude_tables = ["tmp_*"]',
         'exclude_tables = ["tmp_*"]\nexpand_contract = true')
    expand_and_contract_changes(multiservice)
    allow = "allow=drop_column:payments.paid_at"
    assert len(ms_autogenerate(multiservice, url, "service=billing", allow, "split=none")) == 1
    for path in (multiservice / "migrations" / "versions" / "billing").glob("*auto*"):
        path.unlink()
    written = ms_autogenerate(multiservice, url, "service=billing", allow)
    assert sorted(str(module_value(p, "sluice_phase")) for p in written) == ["contract", "expand"]
    with pytest.raises(CommandError, match=r"-x split=sideways: unknown value; valid: "
                                           r"expand-contract, none"):
        ms_autogenerate(multiservice, url, "split=sideways")


# --------------------------------------------------------------------------- services next to a trunk


def add_accounts_service(shop: Path) -> None:
    with (shop / "sluice.toml").open("a") as fh:
        fh.write('\n[services.accounts]\ntables = ["users"]\n')


def test_new_branch_depends_on_the_trunk_that_created_its_tables(shop: Path,
                                                                   db_url: str) -> None:
    from alembic import command

    from tests.support.project import autogenerate, cfg, upgrade

    upgrade(shop, db_url)
    add_accounts_service(shop)
    edit(shop / "shopapp" / "models.py", "    legacy_field: Mapped[str | None]",
         "    nickname: Mapped[str | None] = mapped_column(String(50))\n"
         "    legacy_field: Mapped[str | None]")
    edit(shop / "shopapp" / "models.py", "    price: Mapped[float] = mapped_column(Numeric(10, 2))",
         "    price: Mapped[float] = mapped_column(Numeric(10, 2))\n"
         "    weight: Mapped[int | None]")
    written = autogenerate(shop, db_url)  # users -> accounts branch, products -> trunk
    by_branch = {module_value(p, "branch_labels"): p for p in written}
    accounts, trunk = by_branch[("accounts",)], by_branch[None]
    assert module_value(accounts, "down_revision") is None
    assert module_value(accounts, "depends_on") == "0002"  # users was created on the trunk
    assert "nickname" in accounts.read_text() and "weight" not in accounts.read_text()
    assert module_value(trunk, "down_revision") == "0002"
    assert "weight" in trunk.read_text()
    upgrade(shop, db_url, rev="heads")
    assert {"nickname"} <= columns(db_url, "users") and "weight" in columns(db_url, "products")
    command.downgrade(cfg(shop, db_url), "accounts@-1")
    assert "nickname" not in columns(db_url, "users")
    # On an empty database the accounts branch alone pulls in the trunk it depends on.
    fresh = f"sqlite:///{shop / 'fresh.db'}"
    upgrade(shop, fresh, rev="accounts@head")
    assert "nickname" in columns(fresh, "users") and "orders" in tables(fresh)
    assert "weight" not in columns(fresh, "products")


def test_hand_written_revision_lands_on_the_service_branch(multiservice: Path) -> None:
    from alembic import command

    from tests.support.multiservice import ms_cfg, revision_files

    ini = multiservice / "alembic.ini"
    edit(ini, "[alembic]\n", "[alembic]\nrevision_environment = true\n")
    url = f"sqlite:///{multiservice / 'dev.db'}"
    before = revision_files(multiservice)
    command.revision(ms_cfg(multiservice, url, "service=catalog"), message="backfill skus")
    (path,) = revision_files(multiservice) - before
    assert path.parent.name == "catalog"
    assert module_value(path, "down_revision") == "c0001"


def test_alembic_check_scoped_to_a_service(multiservice: Path) -> None:
    from alembic import command

    from tests.support.multiservice import ms_cfg

    url = f"sqlite:///{multiservice / 'dev.db'}"
    upgrade_all(multiservice, url)
    command.check(ms_cfg(multiservice, url))  # clean: no policy refuses an empty result
    edit(multiservice / MODELS,
         "    paid_at: Mapped[datetime] = mapped_column(server_default=func.now())\n",
         "    paid_at: Mapped[datetime] = mapped_column(server_default=func.now())\n"
         "    reference: Mapped[str | None] = mapped_column(String(64))\n")
    command.check(ms_cfg(multiservice, url, "service=catalog"))  # billing's drift is not seen
    with pytest.raises(CommandError, match=r"New upgrade operations detected: \[\('add_column', "
                                           r"None, 'payments'"):
        command.check(ms_cfg(multiservice, url, "service=billing"))


INVOICES_ON_TRUNK_USERS = (
    "\n\nclass Invoice(Base):\n"
    '    __tablename__ = "invoices"\n\n'
    "    id: Mapped[int] = mapped_column(primary_key=True)\n"
    '    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))\n'
)


def add_billing_service(shop: Path, models: str) -> None:
    with (shop / "sluice.toml").open("a") as fh:
        fh.write('\n[services.billing]\ntables = ["invoices"]\n')
    with (shop / "shopapp" / "models.py").open("a") as fh:
        fh.write(models)


def test_foreign_key_to_an_existing_trunk_table_depends_on_the_trunk(shop: Path,
                                                                      db_url: str) -> None:
    from tests.support.project import autogenerate, upgrade

    add_billing_service(shop, INVOICES_ON_TRUNK_USERS)
    dev = f"sqlite:///{shop / 'dev.db'}"
    upgrade(shop, dev)
    (billing,) = autogenerate(shop, dev, message="invoices")
    assert module_value(billing, "branch_labels") == ("billing",)
    assert module_value(billing, "down_revision") is None
    assert module_value(billing, "depends_on") == "0002"  # the trunk head, which has users
    # On an empty database the billing branch alone creates users before invoices.
    upgrade(shop, db_url, rev="billing@head")
    assert {"users", "invoices"} <= tables(db_url)
    # The next billing revision already stands on the trunk: no second dependency.
    upgrade(shop, dev, rev="heads")
    with (shop / "shopapp" / "models.py").open("a") as fh:
        fh.write('    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))\n')
    (second,) = autogenerate(shop, dev, message="approver")
    assert module_value(second, "down_revision") == module_value(billing, "revision")
    assert module_value(second, "depends_on") is None


def test_foreign_key_to_a_trunk_table_of_the_same_run_depends_on_that_revision(
    shop: Path, db_url: str
) -> None:
    from tests.support.project import autogenerate, upgrade

    add_billing_service(shop, (
        "\n\nclass Country(Base):\n"
        '    __tablename__ = "countries"\n\n'
        "    code: Mapped[str] = mapped_column(String(2), primary_key=True)\n"
        + INVOICES_ON_TRUNK_USERS +
        '    country: Mapped[str] = mapped_column(ForeignKey("countries.code"))\n'
    ))
    dev = f"sqlite:///{shop / 'dev.db'}"
    upgrade(shop, dev)
    written = autogenerate(shop, dev, message="invoices")
    by_branch = {module_value(p, "branch_labels"): p for p in written}
    billing, trunk = by_branch[("billing",)], by_branch[None]
    assert "countries" in trunk.read_text() and "invoices" in billing.read_text()
    assert module_value(trunk, "down_revision") == "0002"
    assert module_value(billing, "depends_on") == module_value(trunk, "revision")
    upgrade(shop, db_url, rev="billing@head")
    assert {"users", "countries", "invoices"} <= tables(db_url)
