"""A forged lint cache entry never hides a finding."""

from __future__ import annotations

import hashlib
import marshal
import stat
from pathlib import Path

import pytest

from sluice.lint.engine import lint_project
from tests.support.lint import dangerous_shop, lint_rules
from tests.support.modules import forget_modules


def _forge(cache: Path, secret: bytes | None = None) -> None:
    """Empty every entry's findings, as someone editing lint.cache by hand would."""
    raw = (cache / "lint.cache").read_bytes()
    mac, _, body = raw.partition(b"\n")
    data = marshal.loads(body)
    for entry in data["entries"].values():
        entry["findings"] = []
    body = marshal.dumps(data)
    if secret is not None:
        mac = hashlib.blake2b(body, digest_size=32, key=secret).hexdigest().encode()
    (cache / "lint.cache").write_bytes(mac + b"\n" + body if mac else body)


def test_forged_entry_does_not_hide_findings(shop: Path) -> None:
    ini = dangerous_shop(shop)
    first = lint_rules(ini)
    assert "SL002" in first
    cache = shop / ".sluice_cache"
    _forge(cache)
    assert lint_rules(ini) == first
    assert stat.S_IMODE((cache / "key").stat().st_mode) == 0o600


def test_a_cache_with_its_key_copied_from_elsewhere_is_not_trusted(shop: Path,
                                                                 tmp_path: Path) -> None:
    """A committed cache checks out 0644: its key is not a secret, so it is ignored."""
    ini = dangerous_shop(shop)
    first = lint_rules(ini)
    cache = shop / ".sluice_cache"
    secret = bytes.fromhex((cache / "key").read_text())
    (cache / "key").chmod(0o644)
    _forge(cache, secret)  # a valid MAC under the known key
    assert lint_rules(ini) == first


def test_an_entry_under_a_valid_mac_of_the_trusted_key_is_read(shop: Path) -> None:
    """The other tests' forgeries fail for the reason they name: a MAC made as the cache
    makes it, under the trusted key, is accepted (a keyed BLAKE2b of the body)."""
    ini = dangerous_shop(shop)
    assert "SL002" in lint_rules(ini)
    cache = shop / ".sluice_cache"
    _forge(cache, bytes.fromhex((cache / "key").read_text()))
    assert "SL002" not in lint_rules(ini)


def test_a_key_too_long_for_the_mac_is_replaced(shop: Path) -> None:
    ini = dangerous_shop(shop)
    first = lint_rules(ini)
    cache = shop / ".sluice_cache"
    (cache / "key").write_text("ab" * 65)  # 65 bytes: BLAKE2b takes 64 at most
    _forge(cache, bytes.fromhex((cache / "key").read_text())[:64])
    assert lint_rules(ini) == first
    assert len(bytes.fromhex((cache / "key").read_text())) == 32


def test_symlinked_cache_files_are_neither_read_nor_written(shop: Path, tmp_path: Path) -> None:
    ini = dangerous_shop(shop)
    lint_rules(ini)
    cache = shop / ".sluice_cache"
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    (cache / "lint.cache").unlink()
    (cache / "lint.cache").symlink_to(victim)
    forget_modules(shop)
    result = lint_project(ini)
    assert result.cache_hits == 0
    assert victim.read_text() == "precious"


def test_a_forged_recent_file_does_not_hide_findings(shop: Path) -> None:
    """lint.recent (the entries changed since lint.cache was written) is sealed the same
    way: emptied findings without the key's MAC are ignored."""
    ini = dangerous_shop(shop)
    first = lint_rules(ini)
    drop = shop / "migrations" / "versions" / "0003_drop.py"
    drop.write_text(drop.read_text() + "\n# edited\n")
    assert lint_rules(ini) == first
    cache = shop / ".sluice_cache"
    assert (cache / "lint.recent").is_file()
    raw = (cache / "lint.recent").read_bytes()
    mac, _, body = raw.partition(b"\n")
    data = marshal.loads(body)
    for entry in data["entries"].values():
        entry["findings"] = []
    (cache / "lint.recent").write_bytes(mac + b"\n" + marshal.dumps(data))
    assert lint_rules(ini) == first


def test_cache_files_are_not_synced_to_the_disk_but_user_files_are(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lint waits for no disk write: a cache file a crash leaves torn fails its MAC and
    reads as none (the lint redoes it). What Sluice writes for the user (write_atomic's
    default) still reaches the disk before it replaces the old file."""
    import os

    from sluice.files import write_atomic
    from sluice.lint.cache import read_sealed, write_sealed

    synced: list[int] = []
    real_fsync = os.fsync

    def counted_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counted_fsync)
    folder = tmp_path / ".sluice_cache"
    assert write_sealed(folder, "lint.cache", b"body")
    assert len(synced) == 2  # its .gitignore and key, written once
    before = len(synced)
    assert write_sealed(folder, "lint.cache", b"body 2")
    assert len(synced) == before
    assert read_sealed(folder, "lint.cache") == b"body 2"
    torn = folder / "lint.cache"
    torn.write_bytes(torn.read_bytes()[:-3])
    assert read_sealed(folder, "lint.cache") is None
    write_atomic(tmp_path / "user.txt", "text")
    assert len(synced) == before + 1


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="Linux: /proc/self/io")
def test_a_cache_file_is_read_with_one_read_system_call(tmp_path: Path) -> None:
    """A warm lint reads its key and cache files: each in one ``read`` (its size is
    known from ``fstat``), not a file object's read and a second one to see the end."""
    from sluice.lint import cache

    def reads() -> int:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("syscr:"):
                return int(line.split()[1])
        raise AssertionError("no syscr")

    folder = tmp_path / ".sluice_cache"
    for size in (0, 10, 300_000):
        body = bytes(range(256)) * (size // 256)
        assert cache.write_sealed(folder, "lint.cache", body)
        path = folder / "lint.cache"
        first = reads()
        itself = reads() - first  # what reading /proc/self/io takes
        before = reads()
        raw = cache._read_regular(path)
        spent = reads() - before - itself
        assert raw == path.read_bytes()
        assert spent == 1, size
        assert cache.read_sealed(folder, "lint.cache") == body
