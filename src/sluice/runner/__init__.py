"""Guarded upgrades: ``sluice plan``, ``sluice upgrade``/``downgrade``, ``sluice history``.

Small modules, one concern each:

- :mod:`.policy`: the guard settings of an environment (production defaults);
- :mod:`.project`: environment, URL and Alembic Config of one invocation;
- :mod:`.session`: the per-revision hooks env.py's ``configure_options`` hands to Alembic;
- :mod:`.lock`: the migration lock (advisory lock, GET_LOCK, SQLite lock file);
  :mod:`.lock_holder`: who holds it; :mod:`.lock_session`: its connections;
- :mod:`.timeouts`: lock/statement timeouts per environment and per revision;
- :mod:`.backup`: the backup hook; :mod:`.audit`: the ``sluice_history`` table;
  :mod:`.liveness`: whether the run of an open audit row is still going (history);
- :mod:`.capture`: statements executed, and partial failures on MySQL/MariaDB;
- :mod:`.plan`, :mod:`.guards`, :mod:`.tablesizes`, :mod:`.lintguard`: the plan;
- :mod:`.run`: the orchestration, with :mod:`.heads` (where the database is, what
  would run), :mod:`.result`, :mod:`.failures` and :mod:`.signals`;
- :mod:`.flow`: the guarded upgrade flow both of them share;
- :mod:`.envguard`: the guards for plain ``alembic``;
- :mod:`.api`: what the CLI calls.

This package is imported by env.py (through ``configure_options``), so it stays light:
import the submodules you need.
"""
