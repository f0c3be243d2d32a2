"""A lint cache that is not exactly what this Sluice wrote under its key (an HMAC-SHA256
cache of an earlier release, a truncated file, a body for another Python, Sluice version
or format) is never read: the findings are those of a lint without it, and the cache is
rewritten so the next lint reads it. And findings read back from the cache are the
findings a fresh lint makes: equal, same hash, repr, pickle and output in every format."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import marshal
import pickle
from pathlib import Path

import pytest

from sluice.lint.cache import read_sealed, write_sealed
from sluice.lint.engine import lint_project
from sluice.lint.model import Finding
from tests.support.cli import SLUICE, run_process
from tests.support.lint import dangerous_shop, lint_rules
from tests.support.modules import forget_modules


def _emptied(body: bytes, **changes: object) -> bytes:
    data = marshal.loads(body)
    for entry in data["entries"].values():
        entry["findings"] = []
    data.update(changes)
    return marshal.dumps(data)


def test_an_hmac_sha256_cache_of_an_earlier_release_is_rebuilt_not_read(shop: Path) -> None:
    ini = dangerous_shop(shop)
    first = lint_rules(ini)
    cache = shop / ".sluice_cache"
    body = read_sealed(cache, "lint.cache")
    assert body is not None
    secret = bytes.fromhex((cache / "key").read_text())
    forged = _emptied(body)
    mac = hmac.new(secret, forged, hashlib.sha256).hexdigest().encode()
    (cache / "lint.cache").write_bytes(mac + b"\n" + forged)
    assert lint_rules(ini) == first
    rebuilt = read_sealed(cache, "lint.cache")
    assert rebuilt is not None and marshal.loads(rebuilt)["entries"]


@pytest.mark.parametrize("change", [{"python": "2.7"}, {"format": 5}, {"key": "other"}],
                         ids=["python", "format", "sluice version or options"])
def test_a_sealed_cache_for_another_python_format_or_key_is_not_read(
        shop: Path, change: dict[str, object]) -> None:
    ini = dangerous_shop(shop)
    first = lint_rules(ini)
    cache = shop / ".sluice_cache"
    body = read_sealed(cache, "lint.cache")
    assert body is not None
    assert write_sealed(cache, "lint.cache", _emptied(body, **change))
    assert lint_rules(ini) == first


@pytest.mark.parametrize("name", ["lint.cache", "lint.recent"])
def test_a_truncated_cache_file_is_ignored(shop: Path, name: str) -> None:
    ini = dangerous_shop(shop)
    first = lint_rules(ini)
    drop = shop / "migrations" / "versions" / "0003_drop.py"
    drop.write_text(drop.read_text() + "\n# edited\n")
    assert lint_rules(ini) == first
    path = shop / ".sluice_cache" / name
    whole = path.read_bytes()
    for size in (0, 1, 64, 65, len(whole) // 2, len(whole) - 1):
        path.write_bytes(whole[:size])
        assert lint_rules(ini) == first
        path.write_bytes(whole)


# ------------------------------------------------------------------ findings read back

def _findings(ini: Path, use_cache: bool) -> list[Finding]:
    forget_modules(ini.parent)
    return list(lint_project(ini, use_cache=use_cache).findings)


def test_findings_read_from_the_cache_equal_fresh_ones_in_every_way(shop: Path) -> None:
    ini = dangerous_shop(shop)
    _findings(ini, True)  # writes the cache
    cached = _findings(ini, True)
    fresh = _findings(ini, False)
    assert cached and len(cached) == len(fresh)
    for a, b in zip(cached, fresh, strict=True):
        assert a == b and hash(a) == hash(b) and repr(a) == repr(b)
        assert dataclasses.asdict(a) | {"op": None} == dataclasses.asdict(b) | {"op": None}
        assert list(vars(a)) == list(vars(b))
        again = pickle.loads(pickle.dumps(a))
        assert again == a and hash(again) == hash(a)
        assert dataclasses.replace(a, line=1) == dataclasses.replace(b, line=1)
        with pytest.raises(dataclasses.FrozenInstanceError):
            a.line = 0  # type: ignore[misc]
    assert set(cached) == set(fresh)


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_output_is_the_same_cold_and_warm(shop: Path, fmt: str) -> None:
    """(The text report of a warm lint leaves out what unchanged revisions found.)"""
    dangerous_shop(shop)
    cold = run_process([SLUICE, "lint", "--format", fmt], cwd=shop)
    warm = run_process([SLUICE, "lint", "--format", fmt], cwd=shop)
    assert cold.returncode == 1
    assert (cold.returncode, cold.stdout, cold.stderr) == \
        (warm.returncode, warm.stdout, warm.stderr)
