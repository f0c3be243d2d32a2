"""Writing files: only where the user said, never through a symlink, always atomically.

Every file Sluice writes (``sluice.sum``, the lint cache, backups, the files ``sluice init``
changes) goes through here:

* :func:`project_file` turns a configured relative path into a path inside the project
  folder and refuses an absolute path, a path that leads out of the project (``..`` or a
  symlinked folder), a symlink and anything that is not a regular file (a device node);
* :func:`write_atomic` writes a temporary file in the same folder and renames it over the
  target (``os.replace``), so a reader sees the old or the new content, never half, and a
  special file is never replaced by accident. The new file keeps the permissions of the
  file it replaces (or gets ``mode``). A Python source it rewrites (a revision, env.py)
  loses the bytecode Python cached for it (:func:`forget_bytecode`).

:func:`read_utf8` reads a source file the way Python and Alembic do, and turns a byte
that is not UTF-8 into one line naming the file, the byte, its offset and line.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from sluice.errors import SluiceError

__all__ = ["check_target", "forget_bytecode", "project_file", "read_utf8", "write_atomic"]


def read_utf8(path: str | os.PathLike[str], *, shown: str | None = None) -> str:
    """The text of ``path``; a :class:`SluiceError` naming ``shown`` (default: the path),
    the offending byte, its offset and line when it is not UTF-8 or cannot be read."""
    name = shown or str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SluiceError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SluiceError(
            f"{name}:{line}: byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8; "
            "Python and Alembic read revision files as UTF-8: save the file as UTF-8"
        ) from None


def project_file(root: Path, value: str | os.PathLike[str], *, key: str) -> Path:
    """``value`` (relative to ``root``, the folder of alembic.ini) as a path Sluice may write.

    ``key`` names the setting it came from, for the message."""
    raw = Path(value)
    if raw.is_absolute():
        raise SluiceError(f"{key} = {str(value)!r} is an absolute path; Sluice writes only "
                          "inside the project folder: give a path relative to it")
    base = Path(os.path.realpath(root))
    path = base / raw
    parent = Path(os.path.realpath(path.parent))
    if not _inside(Path(os.path.normpath(path)), base) or not _inside(parent, base):
        raise SluiceError(f"{key} = {str(value)!r} leads out of the project folder (the "
                          "folder of alembic.ini); Sluice writes only inside it: give a path "
                          "below it")
    check_target(path, what=key, shown=raw.as_posix())
    return path


def check_target(path: Path, *, what: str, shown: str | None = None) -> None:
    """Refuse to write ``path`` (shown as ``shown``) when it is a symlink or not a regular
    file; ``what`` says which file or setting it is."""
    name = shown or str(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SluiceError(f"{name}: cannot write {what}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(path)
        raise SluiceError(f"{name} is a symlink to {target} ({what}); Sluice does not write "
                          "through symlinks: remove the link or point the setting at a real file")
    if not stat.S_ISREG(st.st_mode):
        raise SluiceError(f"{name} is not a regular file ({what}); Sluice will not replace it: "
                          "point the setting at a file")


def write_atomic(path: Path, data: str | bytes, *, mode: int | None = None,
                 what: str = "the file", durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The new file gets ``mode`` when given, else the permissions of the file it replaces,
    else 0644 less the umask. ``path`` must not be a symlink or a special file.
    ``durable``: its data reaches the disk before the rename (``fsync``); False for a file
    whose reader notices a torn one (a cache checked by its MAC), which then costs no wait
    for the disk."""
    check_target(path, what=what)
    if mode is None:
        try:
            mode = stat.S_IMODE(os.lstat(path).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if path.suffix == ".py":
        forget_bytecode(path)


def forget_bytecode(path: Path) -> None:
    """Remove the bytecode Python cached for the source file ``path``
    (``__pycache__/NAME.TAG[.opt-N].pyc``). Python trusts a cached file while the size and
    the modification time (in whole seconds) it recorded match the source's, so a rewrite
    of the same size within the second the source was cached (a revision id swapped for
    another by ``sluice lock --rebase``) would otherwise still run the old code."""
    cache = path.parent / "__pycache__"
    try:
        names = os.listdir(cache)
    except OSError:
        return
    prefix = path.stem + "."
    for name in names:
        parts = name[len(prefix):].split(".") if name.startswith(prefix) else []
        if len(parts) in (2, 3) and parts[-1] == "pyc" \
                and (len(parts) == 2 or parts[1].startswith("opt-")):
            with contextlib.suppress(OSError):
                os.unlink(cache / name)


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new file ``.NAME.XXXXXXXXXXXX.tmp`` next to ``path``, created as
    ``tempfile.mkstemp`` creates one (exclusively, 0600, never through a symlink) without
    importing :mod:`tempfile` (and shutil, random, lzma, bz2: a warm lint's start-up)."""
    flags = (os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_BINARY", 0))
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{path.parent}: no free temporary file name")


def _inside(path: Path, base: Path) -> bool:
    try:
        path.relative_to(base)
    except ValueError:
        return False
    return True


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current
