"""Check rules (``check.<name>``): the checks of ``sluice check``, one file per check.

Importing this package registers them in :mod:`sluice.rules.registry`, in the order they
run (the order of the imports below). Each file's docstring is the check's documentation;
``sluice.check`` runs it (a check needs a project, an Alembic environment and, for some, a
database: it lives with the feature, bound to its rule by name).
"""

# isort: off
from sluice.rules.check import (  # noqa: F401
    graph,
    upgrade,
    drift,
    roundtrip,
    checksums,
)
# isort: on
