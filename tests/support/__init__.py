"""Test support: the one place tests share code from.

- ``tests.support.cli``: running the ``sluice`` command, in-process (``run_cli``) or as a
  real process (``run_process``, ``BIN``);
- ``tests.support.paths``: the repository and its example projects;
- ``tests.support.servers``: the PostgreSQL and MariaDB/MySQL servers of the test run;
- ``tests.support.project``: the real Alembic command API on a copy of examples/shop;
- ``tests.support.multiservice``: the same on a copy of examples/multiservice;
- ``tests.support.gitrepo``: a copy of examples/shop in a git repository of its own.

Test modules import from here and never from one another (``tests/test_test_layout.py``).
"""
