"""Real processes that start without paying for a fresh interpreter and its imports.

A test that kills ``alembic upgrade`` at every point of a revision, or races eight
``sluice upgrade`` processes for the migration lock, starts many processes; each fresh one
spends most of its CPU importing SQLAlchemy, Alembic, a driver and Sluice (about 0.7 s
here) before it sends its first statement. :class:`ForkServer` starts one Python process
that imports those modules once and forks a child per command: every command still runs
in a process of its own (its own database sessions, ``os.getpid()``, signals and exit
status; a SIGKILL ends it as it ends any process), from the ``main`` function its console
script calls, with the arguments, environment and working directory given for it. The
same pattern as tests/fixtures/data/forkserver.py (test_data_fault.py).

What a fork does not repeat is the interpreter's start and the imports: tests about those
(lazy imports, start-up time, the console script's fast path, what importing a module
registers for the rest of a process as in test_enum_plugin.py) run fresh processes
(``tests.support.cli.run_process``), not these. What the imports do is the same in every
process (Alembic loads the plugins of its entry points, Sluice's among them, when
imported), and none of them reads the environment or the working directory a command is
given.

The server imports only the modules it is told to preload and opens no connection, so a
child inherits no session, thread or lock from it.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = ["ALEMBIC_PRELOAD", "SLUICE_PRELOAD", "ForkServer", "ForkedProcess",
           "alembic_forks", "sluice_forks"]

#: What ``sluice upgrade`` and the env.py files of the test projects import.
SLUICE_PRELOAD = ("logging.config", "sqlite3", "sqlalchemy", "sqlalchemy.dialects.postgresql",
                  "sqlalchemy.dialects.mysql", "sqlalchemy.dialects.sqlite", "psycopg",
                  "pymysql", "alembic.config", "alembic.command",
                  "alembic.runtime.environment", "alembic.ddl.postgresql", "alembic.ddl.mysql",
                  "alembic.ddl.sqlite", "sluice", "sluice.data", "sluice.runner",
                  "sluice.integrations.envhooks", "sluice.integrations.cli.fast",
                  "sluice.integrations.cli.app")
#: What ``alembic`` and the env.py files of the test projects import (the Sluice plugin
#: Alembic loads through its entry point when imported, env.py's ``configure_options``).
ALEMBIC_PRELOAD = ("logging.config", "sqlite3", "sqlalchemy", "sqlalchemy.dialects.postgresql",
                   "sqlalchemy.dialects.mysql", "sqlalchemy.dialects.sqlite", "psycopg",
                   "pymysql", "alembic.config", "alembic.command",
                   "alembic.runtime.environment", "alembic.ddl.postgresql",
                   "alembic.ddl.mysql", "alembic.ddl.sqlite", "sluice", "sluice.data",
                   "sluice.recipes.naming", "sluice.integrations.envhooks")

#: The server: one JSON request a line. ``start`` forks a child and answers its pid;
#: ``poll`` answers a child's exit status as subprocess reports it (``-N`` for signal N),
#: or null while it runs.
_SERVER = r'''
import atexit, importlib, json, os, sys, traceback

for _name in sys.argv[1:]:
    try:
        importlib.import_module(_name)
    except ImportError:  # a driver not installed: a child that needs it says so
        pass
_requests = os.fdopen(0, "r")
_answers = os.fdopen(os.dup(1), "w")
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)


def _child(req):
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for fd, to in ((null, 0), (out, 1), (err, 2)):
        if fd != to:
            os.dup2(fd, to)
            os.close(fd)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    sys.argv = list(req["argv"])
    module, _, func = req["entry"].partition(":")
    code = 0
    try:  # as the console script: sys.exit(main()), main reading sys.argv
        sys.exit(getattr(importlib.import_module(module), func)())
    except SystemExit as exc:  # what the interpreter does with it
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    try:  # the exit handlers run, as at the end of any interpreter
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code & 0xFF)


def _answer(value):
    _answers.write(json.dumps(value) + "\n")
    _answers.flush()


for _line in _requests:
    _req = json.loads(_line)
    if _req["op"] == "start":
        _pid = os.fork()
        if _pid == 0:
            _requests.close()
            _answers.close()
            _child(_req)
        _answer(_pid)
    else:
        _done, _status = os.waitpid(_req["pid"], os.WNOHANG)
        _answer(os.waitstatus_to_exitcode(_status) if _done else None)
'''


class ForkedProcess:
    """A child of a :class:`ForkServer`, with the part of ``subprocess.Popen`` tests use:
    ``pid``, ``returncode``, ``poll``, ``wait``, ``send_signal``, ``kill``, ``terminate``
    and ``communicate`` (the output of streams captured as PIPE, read after the exit)."""

    def __init__(self, server: ForkServer, pid: int, out: Path, err: Path,
                 capture_err: bool) -> None:
        self.server = server
        self.pid = pid
        self.returncode: int | None = None
        self.args: list[str] = []
        self._out, self._err, self._capture_err = out, err, capture_err
        self._pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None

    def __del__(self) -> None:
        if getattr(self, "_pidfd", None) is not None:
            os.close(self._pidfd)  # type: ignore[arg-type]

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server._ask({"op": "poll", "pid": self.pid})
            if self.returncode is not None and self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            if self._pidfd is not None:  # readable once the process has ended
                select.select([self._pidfd], [], [], left)
            else:
                time.sleep(0.005 if left is None else min(0.005, left))
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(9)

    def terminate(self) -> None:
        self.send_signal(15)

    def communicate(self, timeout: float | None = None) -> tuple[str, str | None]:
        self.wait(timeout)
        out = self._out.read_text(encoding="utf-8")
        err = self._err.read_text(encoding="utf-8") if self._capture_err else None
        for path in (self._out, *([self._err] if self._capture_err else [])):
            path.unlink(missing_ok=True)
        return out, err


class ForkServer:
    """Children of a server that has imported ``preload``, each running ``argv`` as its
    console script would: ``sys.argv = argv``, then ``sys.exit(entry())`` (``entry``:
    ``"module:function"``, the script's ``main``). Use as a context manager, or
    :meth:`close` it."""

    def __init__(self, entry: str, preload: Sequence[str], workdir: Path,
                 env: Mapping[str, str] | None = None) -> None:
        self.entry = entry
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen([sys.executable, "-c", _SERVER, *preload],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      env=None if env is None else dict(env))
        self._buffer = b""
        self._runs = 0

    def start(self, argv: Sequence[str | os.PathLike[str]], *, cwd: str | os.PathLike[str],
              env: Mapping[str, str], stderr: str | os.PathLike[str] | IO[str] | None = None
              ) -> ForkedProcess:
        """Like ``subprocess.Popen(argv, stdout=PIPE, stderr=stderr or PIPE, text=True)``;
        ``stderr``: a file path (or an open file, by its name) the child writes to."""
        self._runs += 1
        out = self.workdir / f"fork-{self._runs}.out"
        err = self.workdir / f"fork-{self._runs}.err"
        if stderr is not None:
            err = Path(stderr if isinstance(stderr, (str, os.PathLike)) else stderr.name)
            err.write_text("")  # there (and empty) once this returns, as Popen's would be
        request = {"op": "start", "argv": [str(a) for a in argv], "cwd": str(cwd),
                   "env": dict(env), "stdout": str(out), "stderr": str(err),
                   "entry": self.entry}
        pid = self._ask(request)
        assert pid is not None
        proc = ForkedProcess(self, pid, out, err, capture_err=stderr is None)
        proc.args = [str(a) for a in argv]
        return proc

    def run(self, argv: Sequence[str | os.PathLike[str]], *, cwd: str | os.PathLike[str],
            env: Mapping[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Like ``subprocess.run(argv, capture_output=True, text=True, timeout=timeout)``."""
        proc = self.start(argv, cwd=cwd, env=env)
        try:
            out, err = proc.communicate(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        return subprocess.CompletedProcess(proc.args, proc.wait(), out, err)

    def _ask(self, request: Mapping[str, object]) -> int | None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(request).encode() + b"\n")
        self._proc.stdin.flush()
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"the fork server ended (exit {self._proc.wait()})")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: int | None = json.loads(line)
        return answer

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


_servers: dict[str, ForkServer] = {}


def _shared(entry: str, preload: Sequence[str]) -> ForkServer:
    """This process's server for ``entry``, started on first use, closed at exit."""
    if entry not in _servers:
        import atexit
        import shutil
        import tempfile

        workdir = Path(tempfile.mkdtemp(prefix="sluice_forks_"))
        server = ForkServer(entry, preload, workdir)
        atexit.register(shutil.rmtree, workdir, ignore_errors=True)
        atexit.register(server.close)
        _servers[entry] = server
    return _servers[entry]


def sluice_forks() -> ForkServer:
    """Children running ``sluice`` command lines (``argv[0]`` the console script)."""
    return _shared("sluice.integrations.cli.fast:run", SLUICE_PRELOAD)


def alembic_forks() -> ForkServer:
    """Children running ``alembic`` command lines (``argv[0]`` the console script)."""
    return _shared("alembic.config:main", ALEMBIC_PRELOAD)
