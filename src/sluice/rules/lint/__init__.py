"""Lint rules (``SL...``): one file per rule, its fixtures beside it.

:data:`CATALOG` lists the rule files in catalog order; :func:`import_all` imports them
(each registers its rule in :mod:`sluice.rules.registry`). Importing this package imports
none of them: the registry knows the rules from :mod:`sluice.rules._lint_manifest` and
imports a rule's file when its check is first needed, so importing one rule file does not
import the others. A rule is ``slNNN_name.py``: one function
decorated with :func:`~sluice.rules.registry.rule`, whose docstring is the rule's
documentation (the dangerous pattern, why, and the safe alternative step by step), and its
fixtures in ``slNNN_name.fixtures/`` (``SLNNN_bad*.py`` trigger it on the lines marked
``# <-``, ``SLNNN_ok*.py`` are close variants that must not; they are read as revision
files, never imported). A helper used by several rules of a family is in ``_<family>.py``,
one used across families in :mod:`sluice.rules._util`, :mod:`sluice.rules._sql` or
:mod:`sluice.rules._rebuild`.

The families: destructive (SL0xx), compat (SL1xx), postgres-locking (SL2xx; every rule
ignores tables created earlier in the same revision), mysql (SL3xx; costs depend on
``lint.target_mysql_version``), transactions (SL4xx), data (SL5xx), script (SL6xx), naming
(SL7xx) and meta (SL9xx: findings about the lint run itself; they look only at synthetic
``lint.*`` operations that the lint engine and its suppression handling build, and are
registered like every other rule so that ``sluice rules`` documents them and
``[tool.sluice.lint]`` can disable them or change their severity).
"""

from __future__ import annotations

import importlib

#: The rule files (modules of this package), in catalog order.
CATALOG: tuple[str, ...] = (
    "sl301_mysql_table_copy",
    "sl302_mysql_table_rebuild",
    "sl303_mysql_multiple_ddl",
    "sl304_mysql_alter_column_without_existing",
    "sl101_lossy_type_change",
    "sl102_set_not_null_without_default",
    "sl103_rename_column",
    "sl104_rename_table",
    "sl105_column_type_change",
    "sl106_add_not_null_column_without_default",
    "sl107_drop_server_default",
    "sl501_update_without_where",
    "sl502_unbatched_backfill",
    "sl001_drop_table",
    "sl002_drop_column",
    "sl003_drop_index",
    "sl004_drop_constraint",
    "sl005_protected_table",
    "sl006_drop_schema",
    "sl007_truncate_table",
    "sl008_delete_without_where",
    "sl900_parse_error",
    "sl901_suppression_without_reason",
    "sl902_unused_suppression",
    "sl903_static_only",
    "sl904_unknown_suppression_rule",
    "sl905_duplicate_revision_id",
    "sl906_broken_revision_link",
    "sl701_index_name_convention",
    "sl702_constraint_name_convention",
    "sl703_unnamed_constraint",
    "sl201_create_index_non_concurrently",
    "sl202_drop_index_non_concurrently",
    "sl203_foreign_key_without_not_valid",
    "sl204_check_constraint_without_not_valid",
    "sl205_unique_constraint_without_index",
    "sl206_set_not_null",
    "sl207_add_column_volatile_default",
    "sl208_type_change_rewrites_table",
    "sl209_vacuum_full_or_cluster",
    "sl210_lock_table",
    "sl211_reindex_non_concurrently",
    "sl212_validate_in_locking_transaction",
    "sl601_missing_downgrade",
    "sl602_dynamic_sql",
    "sl603_import_app_code",
    "sl604_create_engine_in_revision",
    "sl605_swallowed_exception",
    "sl606_reads_data_in_migration",
    "sl607_drop_unnamed_constraint",
    "sl608_sqlite_alter_outside_batch",
    "sl401_concurrently_outside_autocommit",
    "sl402_dml_in_ddl_transaction",
    "sl403_statement_needs_autocommit",
    "sl503_cross_service_write",
)


def import_all() -> None:
    """Import every rule file (registering its rule), in catalog order."""
    for name in CATALOG:
        importlib.import_module(f"{__name__}.{name}")
