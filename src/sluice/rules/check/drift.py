"""Models match database: autogenerate finds nothing to change after an upgrade to head.

After upgrading an empty database to head, Alembic's autogenerate comparison against
env.py's ``target_metadata`` (with Sluice's filters: excluded tables are not drift) finds
nothing to change. Differences are listed by table and column, with the operations
``alembic revision --autogenerate`` would write.
"""

from sluice.rules.registry import check_rule

RULE = check_rule("drift", title="models match database", needs_database=True, doc=__doc__)
