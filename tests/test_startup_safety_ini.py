"""alembic.ini read without configparser (PlainIni) against ConfigParser on generated
files: odd but real lines mixed at random, each file written with LF, CRLF and CR line
ends; every answer and every error must be ConfigParser's."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from sluice.core.ini import IniConfig

LINES = [
    "[alembic]", "[alembic]", "[Alembic]", "[DEFAULT]", "[default]", "[Default]", "[ alembic ]",
    "[alembic] # trailing", "[a]b]", "[]", "[]]", "[x", "\t[other]", "[other]",
    "script_location = %(here)s/m", "script_location=m", "script_location :m",
    "Script_Location = Upper", "SCRIPT_LOCATION\t=\tTabbed", "script_location =",
    "sqlalchemy.url = postgresql://u:p@h/db", "sqlalchemy.url = a%%b", "url = %(db)s",
    "db = app", "DB = App", "db:x = y", "db = a=b:c", "here = /over", "pct = 100%",
    "pct = 100%%", "ref = %(nope)s", "ref = %(HERE)s", "ref = %()s", "ref = %(a)x)s",
    "loop = %(loop)s", "key = value ; inline", "key = value # inline", "key",
    "= value", ": value", "  continued", "\tcontinued", "  # indented comment", "# comment",
    "; comment", "", " ", "\t", "version_locations = a b", "version_locations = a,b, c",
    "path_separator = os", "path_separator = space", "path_separator = bogus",
    "version_path_separator = ;", "prepend_sys_path = .:src", "x = \u00e9t\u00e9",
    "x = \u3000wide\u3000", "\u00a0nbsp = 1", "\x0cformfeed = 1", "k\x1c = v", "\ufeff[alembic]",
    "\ufeffkey = v", "key = \ufeff", "[alembic\x85]", "a = %(b)s", "b = %(a)s", "b = end",
]

KEYS = ("script_location", "sqlalchemy.url", "url", "db", "DB", "db:x", "here", "pct", "ref",
        "loop", "key", "x", "a", "b", "version_locations", "prepend_sys_path", "nothing",
        "k\x1c", "\u00a0nbsp", "formfeed")


def outcome(call: Callable[[], object]) -> tuple[str, object]:
    try:
        return "value", call()
    except Exception as exc:  # the error itself is what is compared
        return type(exc).__name__, str(exc)


def answers(cfg: IniConfig) -> list[tuple[str, object]]:
    calls: list[Callable[[], object]] = [
        *(lambda k=k: cfg.get_main_option(k) for k in KEYS),
        *(lambda k=k: cfg.get_alembic_option(k, "dflt") for k in KEYS),
        *(lambda s=s: cfg.get_section_option(s, "db") for s in
          ("other", "DEFAULT", "default", "Alembic", " alembic ", "a]b", "]", "")),
        lambda: cfg.get_alembic_boolean_option("key"),
        cfg.get_version_locations_list, cfg.get_prepend_sys_paths_list,
    ]
    return [outcome(call) for call in calls]


def generated(seed: int) -> str:
    rng = random.Random(seed)
    lines = ["[alembic]"] if rng.random() < 0.8 else []
    lines += rng.choices(LINES, k=rng.randint(1, 12))
    return "\n".join(lines) + rng.choice(["", "\n"])


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_generated_files_read_as_configparser_reads_them(tmp_path: Path, end: str) -> None:
    ini = tmp_path / "alembic.ini"
    plain = 0
    for seed in range(300):
        text = generated(seed)
        ini.write_bytes(text.replace("\n", end).encode("utf-8"))
        light, parsed = IniConfig(ini), IniConfig(ini)
        outcome(lambda: parsed.file_config)  # noqa: B023  # ConfigParser from the start
        assert answers(light) == answers(parsed), (seed, text)
        plain += light._plain_ini() is not None
    assert plain > 25  # the comparison covers files PlainIni reads itself


@pytest.mark.parametrize("data", [b"[alembic]\nx = \xe9t\xe9\n", b"[alembic]\n\xff\xfe = 1\n",
                                  b"\xef\xbb\xbf[alembic]\nx = 1\n",
                                  b"[alembic]\nx = 1\x00\n"])
def test_bytes_that_are_not_plain_utf_8_text(tmp_path: Path, data: bytes) -> None:
    ini = tmp_path / "alembic.ini"
    ini.write_bytes(data)
    light, parsed = IniConfig(ini), IniConfig(ini)
    outcome(lambda: parsed.file_config)
    assert answers(light) == answers(parsed)
