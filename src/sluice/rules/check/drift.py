"""Models match database: autogenerate finds nothing to change after an upgrade to head.

After upgrading an empty database to head, Alembic's autogenerate comparison against
env.py's ``target_metadata`` (with Sluice's filters: excluded tables are not drift) finds
nothing to change. Differences are listed by table and column, with the operations
``alembic revision --autogenerate`` would write. Partial indexes' WHERE predicates and
generated columns' expressions, which Alembic does not compare, are compared too, by
meaning (each database's spelling aside); their operations are written by hand.

On the temporary SQLite database standing in for a PostgreSQL or MySQL project, native
enum columns are not compared (SQLite stores an enum as a VARCHAR as long as its longest
value, and the project adds values on its own server only); a note names them and the
``--scratch`` command that compares them there.
"""

from sluice.rules.registry import check_rule

RULE = check_rule("drift", title="models match database", needs_database=True, doc=__doc__)
