"""Trace rules (``TR...``): what ``sluice trace`` measured on a scratch database.

Importing this package registers them in :mod:`sluice.rules.registry`, one file per rule
whose docstring is the rule's documentation. They are measurements, not predictions:
``sluice.trace`` runs the revisions, records the locks each statement took and the tables
it rewrote, and reports the rule that applies. ``locks`` (TR001-TR003) are the measured
locks and rewrites; ``crosscheck`` (TR101, TR102) compares them with what lint predicted.
"""

from sluice.rules.trace import (  # noqa: F401
    tr001_blocks_reads_and_writes,
    tr002_blocks_writes,
    tr003_table_rewrite,
    tr101_lint_missed_danger,
    tr102_lint_false_alarm,
)
