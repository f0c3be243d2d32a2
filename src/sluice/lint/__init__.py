"""The linter: the engine, its static and render layers, the rule catalog and suppressions
(see :mod:`sluice.lint.engine`)."""
