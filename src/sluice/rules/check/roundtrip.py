"""Round trip: each revision's downgrade restores the schema it found.

For each revision (or the latest ``check.roundtrip_last`` / ``--last``), upgrade to it,
snapshot the schema (tables, columns with type, nullability and default, indexes, unique,
check and foreign keys), downgrade one step and compare with the schema before the
upgrade, upgrade again and compare with the first upgrade. Reports the first revision whose
downgrade does not restore the schema, with the difference. Revisions whose downgrade only
raises are irreversible on purpose and are skipped.
"""

from sluice.rules.registry import check_rule

RULE = check_rule("roundtrip", title="downgrade round trip", needs_database=True,
                  doc=__doc__)
