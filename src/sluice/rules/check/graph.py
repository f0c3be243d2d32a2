"""Revision graph: the revision files load and form one sound history.

Every revision file imports; no duplicate revision ids, missing parents, cycles or
conflicting branch labels; one head (or exactly one per branch in
``check.expected_heads``); and, with ``downgrades = "required"``, every revision has a
downgrade that does something or raises on purpose to mark itself irreversible.
"""

from sluice.rules.registry import check_rule

RULE = check_rule("graph", title="revision graph", needs_database=False, doc=__doc__)
