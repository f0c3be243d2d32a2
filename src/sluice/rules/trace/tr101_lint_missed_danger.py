"""Lint reported nothing where the database measured a blocking lock.

Lint reported nothing at warning or error on a statement that, measured on a scratch
database, took a lock blocking reads or writes of an existing table.

Evidence for the rule catalog: either a rule is missing or it is too narrow. Check the
TR001/TR002 finding on the same line for the lock and the fix.
"""

from sluice.rules.registry import trace_rule

RULE = trace_rule("TR101", "lint-missed-danger", family="crosscheck", severity="info",
                  doc=__doc__)
