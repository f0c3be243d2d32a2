"""Checksums: every revision file matches the checksum recorded in ``sluice.sum``.

Every revision file matches the SHA-256 recorded in ``sluice.sum`` (written by ``sluice
lock``), no recorded file is gone, no revision file is unrecorded, and the recorded heads
are the current heads. An edited revision fails unless the sum file was updated in the same
change. Without a sum file the check is skipped, or fails with ``check.require_lock =
true``.
"""

from sluice.rules.registry import check_rule

RULE = check_rule("checksums", title="revision checksums", needs_database=False,
                  doc=__doc__)
