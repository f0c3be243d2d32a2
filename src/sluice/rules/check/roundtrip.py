"""Round trip: each revision's downgrade restores the schema it found.

For each revision (or the latest ``check.roundtrip_last`` / ``--last``), upgrade to it,
snapshot the schema (tables, columns with type, nullability, default, computed expression,
comment and identity or AUTO_INCREMENT, table comments, indexes (SQLite's expression
indexes too) with their WHERE predicate, column order and options, unique, check and
foreign keys, views and their definitions, PostgreSQL enum types and their values and
sequences no column owns, functions, procedures and triggers), downgrade one step and
compare with the schema before the upgrade, upgrade again and compare with the first
upgrade. Reports the first revision whose downgrade does not restore the schema, with the
difference and, for an object left behind, the statement that drops it. Revisions whose
downgrade only raises are irreversible on purpose and are skipped.

The snapshot covers the schemas env.py compares: the default schema, every schema when
env.py passes ``include_schemas=True`` (through its ``include_name``), those named in
``include_schemas`` and those the models' tables name; a note lists them.
"""

from sluice.rules.registry import check_rule

RULE = check_rule("roundtrip", title="downgrade round trip", needs_database=True,
                  doc=__doc__)
