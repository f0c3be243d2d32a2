"""Sluice's rules: lint (``SL...``), trace (``TR...``) and check (``check.<name>``).

One registry (:mod:`sluice.rules.registry`) holds every rule as data plus one function;
each rule is a file of its own (``lint/``, ``trace/``, ``check/``), a lint rule with its
good and bad fixtures beside it. Rules sit between the features and the core: they import
:mod:`sluice.core` (and Alembic, SQLAlchemy, sqlglot), never a feature.
"""
