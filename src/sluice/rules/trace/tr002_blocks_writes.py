"""A statement took a lock that blocks INSERT, UPDATE and DELETE on an existing table.

Measured on a scratch database: reads go on, but every write waits until the transaction
commits (PostgreSQL SHARE, SHARE ROW EXCLUSIVE, EXCLUSIVE; MySQL/MariaDB SHARED_NO_WRITE
or a table copy).

Safe alternative: the finding names the statement's own fix (CONCURRENTLY, NOT VALID then
VALIDATE, an online ALTER).
"""

from sluice.rules.registry import trace_rule

RULE = trace_rule("TR002", "blocks-writes", family="locks", severity="error", doc=__doc__)
