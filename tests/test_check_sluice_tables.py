"""Sluice's own tables (audit, lock holder, data checkpoints) are never schema differences."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.check import DB_CHECKS, config, overlay, run
from tests.support.db import tables


@pytest.fixture
def project(shop: Path) -> Path:
    return overlay(shop, "data_step")


def statuses(report: object) -> list[tuple[str, str]]:
    return [(r.name, r.status) for r in report.results]  # type: ignore[attr-defined]


def messages(report: object) -> list[str]:
    return [p.message + p.details for r in report.results  # type: ignore[attr-defined]
            for p in r.problems]


def test_data_checkpoint_table_is_not_schema(project: Path, db_url: str) -> None:
    report = run(project, *DB_CHECKS, url=db_url)
    assert statuses(report) == [("upgrade", "pass"), ("drift", "pass"),
                                ("roundtrip", "pass")], messages(report)
    assert "sluice_data_progress" in tables(db_url)


def test_renamed_checkpoint_table_is_not_schema(project: Path) -> None:
    config(project, '[data]\nprogress_table = "etl_checkpoints"\n')
    report = run(project, *DB_CHECKS)
    assert statuses(report) == [("upgrade", "pass"), ("drift", "pass"),
                                ("roundtrip", "pass")], messages(report)


def test_a_guarded_environment_is_checked_without_the_deploy_guard(
        project: Path, db_url: str) -> None:
    """guard_alembic wraps Alembic's step function for deploys; on the check's throwaway
    database it would take the migration lock, write audit rows and run every step before
    the round trip could snapshot one."""
    config(project, 'production_environments = []\n[environments.dev]\nguard_alembic = true\n')
    report = run(project, *DB_CHECKS, url=db_url)
    assert statuses(report) == [("upgrade", "pass"), ("drift", "pass"),
                                ("roundtrip", "pass")], messages(report)
    assert not {"sluice_history", "sluice_lock_holder"} & tables(db_url)
