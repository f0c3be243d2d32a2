"""Rule families. Importing this package registers every rule in ``sluice.lint.registry``.

Add a family by creating a module here and listing it below; nothing else registers rules.
"""

from sluice.lint.rules import (  # noqa: F401
    compat,
    data,
    destructive,
    meta,
    mysql,
    naming,
    postgres,
    postgres_rewrites,
    script,
    transactions,
)
