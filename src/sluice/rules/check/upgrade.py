"""Upgrade from empty: every migration runs, from an empty database to head.

The migrations run in order, from an empty database to head (all heads), through the
project's env.py, and the version table ends at head.
"""

from sluice.rules.registry import check_rule

RULE = check_rule("upgrade", title="upgrade from empty", needs_database=True, doc=__doc__)
