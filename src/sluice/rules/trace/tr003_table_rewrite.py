"""A statement rewrote an existing table.

Measured on a scratch database: the PostgreSQL relfilenode or the InnoDB table id changed,
and no lock blocking reads or writes was seen (an online rebuild, or locks not traceable on
that server). The whole table is copied: the statement's duration, I/O and WAL or binlog
volume grow with the table's size, and disk usage doubles while it runs.

Safe alternative: add a new column, backfill it in batches (sluice.data), switch the
application, drop the old column.
"""

from sluice.rules.registry import trace_rule

RULE = trace_rule("TR003", "table-rewrite", family="locks", severity="warning", doc=__doc__)
