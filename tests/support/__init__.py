"""Test support: the one place tests share code from.

- ``tests.support.cli``: running the ``sluice`` command, in-process (``run_cli``) or as a
  real process (``run_process``, ``BIN``);
- ``tests.support.paths``: the repository and its example projects;
- ``tests.support.servers``: the PostgreSQL and MariaDB/MySQL servers of the test run;
- ``tests.support.project``: the real Alembic command API on a copy of examples/shop;
- ``tests.support.multiservice``: the same on a copy of examples/multiservice, and real
  ``alembic`` processes on a copy outside the working folder (``ms_process_project``);
- ``tests.support.gitrepo``: a copy of examples/shop in a git repository of its own;
- ``tests.support.forkserver``: real ``sluice``/``alembic`` processes forked from one that
  imported them once (for kill, signal and concurrency tests);
- ``tests.support.databases``: PostgreSQL test databases created ahead, dropped behind;
- ``tests.support.modules``: forgetting a project's imported modules between runs;
- ``tests.support.asyncproject``: an ``alembic init -t async`` project wired to Sluice.
- ``tests.support.sections``: a project with two alembic.ini sections outside the
  working folder, and running the commands a message printed, exactly as printed.

Test modules import from here and never from one another (``tests/test_test_layout.py``).
"""
