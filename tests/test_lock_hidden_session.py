"""A deploy that finds the previous holder's row but cannot see its session (another role,
without pg_read_all_stats) waits for it: it may have lost the lock and still be in the
middle of a revision. Taking that as "gone" would run two migrations at once."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from sluice.runner.lock import MigrationLock
from sluice.runner.lock_holder import HOLDER_TABLE, ensure_holder_table, lock_name
from sluice.runner.lock_session import LockTimeout, session_of


@pytest.mark.postgres
def test_a_previous_holder_whose_session_is_hidden_is_waited_for(pg_url: str) -> None:
    role = f"sluice_lk_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    # the earlier run's audit session, open
    old_run = sa.create_engine(pg_url, poolclass=sa.pool.NullPool).connect()
    try:
        with admin.connect() as conn:
            database = conn.exec_driver_sql("SELECT current_database()").scalar()
            ensure_holder_table(conn)
            # the earlier run lost the advisory lock (its lock connection was killed) and
            # left its row, naming its audit session, which is still open
            conn.execute(sa.text(
                f"INSERT INTO {HOLDER_TABLE} (lock_name, host, pid, username, environment, "
                "command, since, session) VALUES (:n, 'build-7', 4242, 'deploy', 'prod', "
                "'sluice upgrade head', now(), :s)"),
                {"n": lock_name(str(database)), "s": session_of(old_run, "postgresql")})
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
            conn.exec_driver_sql(f"GRANT ALL ON {HOLDER_TABLE} TO {role}")
            conn.exec_driver_sql(f"GRANT CREATE ON SCHEMA public TO {role}")
        url = sa.make_url(pg_url).set(username=role)
        lock = MigrationLock(url, timeout_ms=1500, slice_ms=200)
        with pytest.raises(LockTimeout) as caught:
            lock.acquire()
        message = str(caught.value)
        assert "build-7 pid 4242" in message
        assert "hidden from this role" in message and "pg_read_all_stats" in message
        assert not lock.acquired
        # once that session is gone, the next deploy goes ahead
        old_run.close()
        with MigrationLock(url, timeout_ms=5000, slice_ms=200) as again:
            assert again.acquired
    finally:
        old_run.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()
