"""What the rule files of the ``transactions`` family share.

Transactions (SL4xx): statements that cannot run in, or should not share, the DDL
transaction.
"""

from __future__ import annotations

PG = ("postgresql",)


_AUTOCOMMIT = "with op.get_context().autocommit_block():"
