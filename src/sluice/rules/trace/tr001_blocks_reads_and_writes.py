"""A statement took a lock that blocks every read and write of an existing table.

Measured on a scratch database: the lock mode (PostgreSQL ACCESS EXCLUSIVE, MySQL/MariaDB
EXCLUSIVE) stops plain SELECTs too, from the statement that took it until the transaction
commits. In production it first waits behind every running query on the table, and every
query arriving meanwhile queues behind it. Also reported for a table rewritten while such a
lock, taken earlier in the same transaction, was held.

Safe alternative: the finding names the statement's own fix; in every case set a
lock_timeout so the migration gives up instead of stalling the application, and keep the
transaction short.
"""

from sluice.rules.registry import trace_rule

RULE = trace_rule("TR001", "blocks-reads-and-writes", family="locks", severity="error",
                  doc=__doc__)
