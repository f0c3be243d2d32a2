"""A lint locking rule fired where the measured lock was harmless.

A lint rule that predicts a blocking lock (or a table rewrite) fired on a statement that,
measured on a scratch database, took no lock blocking reads or writes of an existing table
(or did not rewrite it).

Evidence for the rule catalog: the rule may be too broad for this server version; or the
scratch database differs from production (table sizes, server version, settings).
"""

from sluice.rules.registry import trace_rule

RULE = trace_rule("TR102", "lint-false-alarm", family="crosscheck", severity="info",
                  doc=__doc__)
