"""The backup taken before an upgrade or downgrade changes anything.

``backup_command`` is a template, split like a shell would (``shlex``) and then formatted
token by token, so a URL or password with spaces or quotes can never change the command's
shape; it runs without a shell, in the folder of alembic.ini. Placeholders:

==============  =============================================================
``{url}``       the database URL without the SQLAlchemy driver part and without
                the password (``postgresql://user@host:5432/db``), as pg_dump/psql
                take it
``{host}`` ``{port}`` ``{user}`` ``{database}``   its parts
``{timestamp}`` UTC, ``20260110T090000Z``
``{revision}``  what the database is at when the backup is taken (``base`` when
                empty): restoring the backup brings the database back to it
``{target}``    what the run is going to
``{env}``       the environment
==============  =============================================================

The password never appears on the command line, where every local user could read it
(``ps``, ``/proc/<pid>/cmdline``): the command gets it in its environment, as
``PGPASSWORD`` (PostgreSQL) or ``MYSQL_PWD`` (MySQL/MariaDB), which the client tools
read. A template with ``{password}`` is refused. The command line Sluice prints shows
no password in any encoding.

For SQLite without a command, the built-in backup copies the database with SQLite's
online backup API (consistent even while others read it) to
``<database>.<timestamp>-<revision>.backup`` next to it, with the database file's
permissions (0600 when they cannot be read). It is written to a temporary file and
renamed, never through a symlink.

The folder of a file the command writes anew each run (a token with ``{timestamp}``, as
``-f backups/{timestamp}-{revision}.dump`` or ``--result-file=backups/{timestamp}.sql``) is
made when it does not exist yet, relative to the folder of alembic.ini.

Any failure (non-zero exit, missing program, unknown placeholder, a folder that cannot be
made) aborts the run before anything changes, with the tail of the command's stderr.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import URL, make_url

from sluice.errors import SluiceError, mask_url
from sluice.files import check_target
from sluice.runner.database import backend, libpq_url, sqlite_path


class BackupFailed(SluiceError):
    """The backup did not succeed; nothing was changed (exit 2)."""


@dataclass
class BackupResult:
    description: str
    path: str | None
    seconds: float


_PASSWORD_ENV = {"postgresql": "PGPASSWORD", "mysql": "MYSQL_PWD"}


def _values(url: URL, *, timestamp: str, revision: str, target: str, env: str) -> dict[str, str]:
    no_password = url._replace(password=None)
    return {
        "url": libpq_url(no_password) if backend(url) == "postgresql" else
        no_password.set(drivername=url.get_backend_name()).render_as_string(hide_password=False),
        "host": url.host or "",
        "port": str(url.port or ""),
        "user": url.username or "",
        "database": url.database or "",
        "timestamp": timestamp,
        "revision": revision,
        "target": target,
        "env": env,
    }


def render_command(template: str, values: dict[str, str]) -> list[str]:
    try:
        tokens = shlex.split(template)
    except ValueError as exc:
        raise BackupFailed(f"backup_command: cannot parse {template!r}: {exc}") from None
    if not tokens:
        raise BackupFailed("backup_command is empty")
    out = []
    for token in tokens:
        try:
            out.append(token.format(**values))
        except KeyError as exc:
            if exc.args[0] == "password":
                raise BackupFailed(
                    "backup_command: {password} would put the database password on the "
                    "command line, where every local user can read it (ps, /proc/PID/cmdline); "
                    "remove it: Sluice passes the password to the command as PGPASSWORD "
                    "(PostgreSQL) or MYSQL_PWD (MySQL/MariaDB)") from None
            valid = ", ".join("{" + k + "}" for k in values)
            raise BackupFailed(
                f"backup_command: unknown placeholder {{{exc.args[0]}}}; valid: {valid}"
            ) from None
        except (IndexError, ValueError) as exc:
            raise BackupFailed(f"backup_command: bad placeholder in {token!r}: {exc}") from None
    return out


def _make_output_folders(template: str, argv: list[str], cwd: Path) -> None:
    """Make the folder of each file the command writes anew each run (a token with
    ``{timestamp}``: ``backups/{timestamp}.dump``, ``--result-file=out/{timestamp}.sql``),
    relative to ``cwd``, when it does not exist yet (the first production run);
    :class:`BackupFailed` naming it when it cannot be made."""
    for token, value in zip(shlex.split(template), argv, strict=False):
        if "{timestamp}" not in token:
            continue
        if value.startswith("-") and "=" in value:
            value = value.partition("=")[2]
        folder = (cwd / value).parent
        if folder == cwd or folder.is_dir():
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupFailed(f"backup failed: cannot make the folder {folder} for "
                               f"{value}: {exc.strerror or exc}; nothing was changed") from None


def _masked(text: str, password: str) -> str:
    """``text`` with ``password`` hidden in every form a URL or a shell line may carry."""
    if not password:
        return text

    for form in sorted({password, quote(password, safe=""), quote_plus(password),
                        quote(password), shlex.quote(password)}, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def _child_env(url: URL) -> dict[str, str]:
    """The backup command's environment: ours, plus the password where the client reads it."""
    env = dict(os.environ)
    name = _PASSWORD_ENV.get(backend(url))
    if name and url.password:
        env[name] = str(url.password)
    return env


def run_backup(
    url: str | URL,
    *,
    command: str | None,
    cwd: str | Path,
    revision: str,
    target: str,
    env: str,
    table: str = "[tool.sluice.environments.NAME]",
) -> BackupResult:
    """Run the configured backup (or SQLite's built-in one); raise :class:`BackupFailed`."""
    u = make_url(url)
    timestamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    start = time.monotonic()
    if command:
        values = _values(u, timestamp=timestamp, revision=revision, target=target, env=env)
        argv = render_command(command, values)
        password = str(u.password or "")
        shown = _masked(shlex.join(argv), password)
        _make_output_folders(command, argv, Path(cwd))
        try:
            proc = subprocess.run(argv, cwd=str(cwd), capture_output=True, text=True,
                                  env=_child_env(u))
        except FileNotFoundError:
            raise BackupFailed(
                f"backup failed: program not found: {argv[0]} (backup_command = {command!r}); "
                "nothing was changed"
            ) from None
        except OSError as exc:
            raise BackupFailed(f"backup failed: {shown}: {exc.strerror}; nothing was changed") from None
        if proc.returncode != 0:
            tail = _masked(" | ".join((proc.stderr or proc.stdout or "").strip()
                                      .splitlines()[-3:]), password)
            raise BackupFailed(
                f"backup failed (exit {proc.returncode}): {shown}: {tail or 'no output'}; "
                "nothing was changed"
            )
        return BackupResult(shown, None, time.monotonic() - start)
    if backend(u) != "sqlite":
        raise BackupFailed(
            f"a backup is required before changing {mask_url(u)} but no backup_command is "
            f"configured; set backup_command in {table} (e.g. "
            "\"pg_dump -Fc {url} -f backups/{timestamp}-{revision}.dump\"), or "
            "require_backup = false for this environment"
        )
    path = sqlite_path(u)
    if path is None:
        raise BackupFailed("an in-memory SQLite database cannot be backed up; "
                           "set require_backup = false for this environment")
    src_path = Path(path).resolve()  # relative to the process, as SQLAlchemy opens it
    dest = src_path.with_name(f"{src_path.name}.{timestamp}-{revision}.backup")
    if not src_path.exists():
        return BackupResult("nothing to back up: the database file does not exist yet",
                            None, time.monotonic() - start)
    import sqlite3  # lazy: the driver only for a SQLite database's backup

    try:
        _sqlite_backup(src_path, dest)
    except sqlite3.Error as exc:
        raise BackupFailed(f"backup of {src_path} to {dest} failed: {exc}; nothing was changed") from None
    except OSError as exc:
        raise BackupFailed(f"backup of {src_path} to {dest} failed: {exc.strerror or exc}; "
                           "nothing was changed") from None
    return BackupResult(f"SQLite backup API: {dest}", str(dest), time.monotonic() - start)


def _sqlite_backup(src_path: Path, dest: Path) -> None:
    """Copy with SQLite's backup API into a 0600 temporary file beside ``dest``, give it
    the source's permissions and rename it into place (never through a symlink)."""
    check_target(dest, what="backup")
    try:
        mode = stat.S_IMODE(os.stat(src_path).st_mode)
    except OSError:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    import sqlite3  # lazy: the driver only for a SQLite database's backup

    try:
        src = sqlite3.connect(str(src_path))
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        os.chmod(tmp, mode)
        check_target(dest, what="backup")
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
