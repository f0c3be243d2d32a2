"""One judgement: the review header of a generated revision, `sluice lint`, `sluice plan`,
the production upgrade guard and the autogenerate refusal report the same rules with the
same severities for the same revision and config (PostgreSQL: its own rules included)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from alembic.util import CommandError

from tests.support.cli import run_cli
from tests.support.modules import forget_modules
from tests.support.project import autogenerate, drop_legacy_field, edit, upgrade

#: drop_column (SL002) and a plain CREATE INDEX on a live PostgreSQL table (SL201)
EXPECTED = {("drop_column", "SL002", "error"), ("create_index", "SL201", "error")}
ALLOW = ("allow=drop_column:users.legacy_field", "allow=create_index:users.ix_users_full_name")


def _project(shop: Path, url: str) -> None:
    ini = shop / "alembic.ini"
    ini.write_text(ini.read_text().replace("sqlite:///%(here)s/shop.db", url))
    (shop / "sluice.sum").unlink()
    # production without a backup or a question, so that the guard alone decides
    edit(shop / "sluice.toml", "[environments.prod]\nconfirm = true\nrequire_backup = true",
         "[environments.prod]\nconfirm = false\nrequire_backup = false")
    upgrade(shop, url)
    drop_legacy_field(shop)
    edit(shop / "shopapp" / "models.py",
         "    full_name: Mapped[str] = mapped_column(String(200))\n",
         "    full_name: Mapped[str] = mapped_column(String(200), index=True)\n")


def _header(text: str) -> set[tuple[str, str, str]]:
    """(op kind, rule, severity) listed in a generated revision's review header."""
    out = set()
    for line in text.splitlines():
        m = re.match(r"#   \[(HIGH|MEDIUM|low)\s*\] (\w+) ", line)
        if m:
            for rule, severity in re.findall(r"\b(SL\d{3}) (error|warning|info)\b", line):
                out.add((m.group(2), rule, severity))
    return out


def _cli(shop: Path, *args: str) -> tuple[int, str, str]:
    forget_modules(shop)
    res = run_cli([args[0], "-c", str(shop / "alembic.ini"), *args[1:]])
    return res.exit_code, res.stdout, res.stderr


def _lint(shop: Path, rev: str) -> tuple[set[tuple[str, str, str]], list[dict[str, Any]]]:
    """(op kind, rule, severity) of every finding `sluice lint --format json` reports,
    suppressed ones included, and the findings themselves."""
    from sluice.lint.static import analyze_file

    code, out, err = _cli(shop, "lint", "--revision", rev, "--format", "json", "--no-cache")
    assert code in (0, 1), err
    data = json.loads(out)
    found: list[dict[str, Any]] = data["findings"] + data["suppressed"]
    (path,) = (shop / "migrations" / "versions").glob(f"{rev}_*.py")
    kind_at = {o.line: o.kind for o in analyze_file(path).ops
               if o.phase == "upgrade" and not o.kind.startswith("script.")}
    return {(kind_at[f["line"]], f["rule"], f["severity"]) for f in found}, found


def _plan(shop: Path) -> tuple[int, dict[str, Any]]:
    code, out, err = _cli(shop, "plan", "--env", "prod", "--format", "json", "--no-sql")
    assert code in (0, 1), err
    return code, json.loads(out)


def _plan_set(plan: dict[str, Any]) -> set[tuple[str, str, str]]:
    (rev,) = plan["revisions"]
    return {(o["kind"], f["rule"], f["severity"]) for o in rev["operations"]
            for f in o["findings"]}


def test_refusal_names_every_rule_the_others_report(shop: Path, pg_url: str) -> None:
    _project(shop, pg_url)
    with pytest.raises(CommandError) as err:
        autogenerate(shop, pg_url)
    refused = set(re.findall(r"^- (\w+) \S+ \[(SL\d{3}) ", str(err.value), re.M))
    assert refused == {(kind, rule) for kind, rule, _ in EXPECTED}


def test_allowed_revision_is_judged_alike_everywhere(shop: Path, pg_url: str) -> None:
    _project(shop, pg_url)
    (path,) = autogenerate(shop, pg_url, *ALLOW)
    rev = path.name.split("_")[0]
    assert _header(path.read_text()) == EXPECTED
    lint, found = _lint(shop, rev)
    assert lint == EXPECTED
    # allowed when generated: reviewed suppressions, with the reason shown
    assert all(f.get("suppressed") for f in found), found
    code, plan = _plan(shop)
    assert _plan_set(plan) == EXPECTED
    (planned,) = plan["revisions"]
    # suppression means reviewed, not harmless: the risk stays
    assert {o["kind"]: o["risk"] for o in planned["operations"]} == {
        "drop_column": "high", "create_index": "high"}
    assert code == 0 and plan["refusals"] == []
    # the production guard lets the reviewed revision through
    code, out, err = _cli(shop, "upgrade", "head", "--env", "prod")
    assert code == 0, err


def test_unreviewed_revision_is_judged_alike_everywhere(shop: Path, pg_url: str) -> None:
    _project(shop, pg_url)
    (shop / "sluice.toml").write_text((shop / "sluice.toml").read_text().replace(
        'dangerous_ops = "error"', 'dangerous_ops = "warn"'), encoding="utf-8")
    (path,) = autogenerate(shop, pg_url)
    rev = path.name.split("_")[0]
    assert _header(path.read_text()) == EXPECTED
    lint, found = _lint(shop, rev)
    assert lint == EXPECTED
    assert not any(f.get("suppressed") for f in found)
    code, plan = _plan(shop)
    assert _plan_set(plan) == EXPECTED
    assert code == 1
    code, out, err = _cli(shop, "upgrade", "head", "--env", "prod")
    assert code == 1, err
    refused = set(re.findall(r":\d+: (SL\d{3}) ", err))
    assert refused == {rule for _, rule, _ in EXPECTED}
    assert set(re.findall(r"(SL\d{3}) \S+: ", "\n".join(plan["refusals"]))) == refused
