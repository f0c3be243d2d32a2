"""alembic.ini read without configparser (sluice.core.ini.PlainIni) gives what
ConfigParser gives: the same values and the same errors, on ordinary files, on the files
it leaves to ConfigParser and on generated ones (odd but real lines mixed at random, with
LF, CRLF and CR line ends)."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sluice.core.ini import IniConfig, PlainIni

LOGGING = ("[loggers]\nkeys = root\n\n[formatter_generic]\n"
           "format = %%(levelname)-5.5s [%%(name)s] %%(message)s\ndatefmt = %%H:%%M:%%S\n")

#: Files PlainIni reads itself.
PLAIN = {
    "alembic's template": "# A generic configuration\n\n[alembic]\n"
                          "script_location = %(here)s/migrations\nprepend_sys_path = .\n"
                          "path_separator = os\nsqlalchemy.url = driver://user:pass@localhost/db\n\n"
                          + LOGGING,
    "comments": "# top\n; semicolon\n[alembic]\n# inside\n  # indented comment\n"
                "script_location = migrations ; not a comment\nurl = a # nor this\n",
    "delimiters": "[alembic]\na:b=c\nd=e:f\n  \ng : h\nmy key = spaced\nUPPER = Case\nempty =\n",
    "references": "[alembic]\nsqlalchemy.url = sqlite:///%(here)s/%(DB)s.db\ndb = app\n"
                  "pct = 100%%\nchain = %(a)s!\na = %(b)s-\nb = end\n",
    "here overridden": "[alembic]\nhere = /elsewhere\nscript_location = %(here)s/m\n",
    "header oddities": "[alembic] trailing text\nscript_location = m\n[a]b]\nx = 1\n",
    "blank lines": "\n\n[alembic]\n\nscript_location = m\n\n\nversion_locations = a b\n\n",
    "deep but finite": "[alembic]\n" + "".join(f"v{i} = %(v{i + 1})s\n" for i in range(8))
                       + "v8 = bottom\n",
    "no alembic section": "[other]\nscript_location = m\n",
    "broken references": "[alembic]\nloop = %(loop)s\nmissing = %(nope)s\nlone = 50%\n"
                         "open = %(x\nempty = %()s\nodd = %(a)x)s\nx = 1\n",
}

#: Files PlainIni leaves to ConfigParser (it reads them or raises).
LEFT = {
    "continuation": "[alembic]\nversion_locations =\n    a\n    b\nscript_location = m\n",
    "default section": "[DEFAULT]\ndb = x\n[alembic]\nurl = %(db)s\n",
    "duplicate key": "[alembic]\na = 1\nA = 2\n",
    "duplicate section": "[alembic]\na = 1\n[alembic]\nb = 2\n",
    "key before a section": "a = 1\n[alembic]\n",
    "no delimiter": "[alembic]\njust words\n",
    "byte order mark": "\ufeff[alembic]\nscript_location = m\n",
    "empty header": "[]\n[alembic]\n",
    "empty key": "[alembic]\n= value\n",
    "indented key": "[alembic]\n  script_location = m\n",
}

KEYS = ("script_location", "sqlalchemy.url", "db", "DB", "db:x", "pct", "chain", "here",
        "ref", "a:b", "a", "b", "d", "g", "key", "my key", "upper", "empty", "url", "missing",
        "loop", "lone", "open", "odd", "x", "v0", "version_locations", "prepend_sys_path",
        "nothing", "k\x1c", "\u00a0nbsp", "formfeed")
SECTIONS = ("other", "DEFAULT", "default", "Alembic", " alembic ", "a]b", "]", "")


def outcome(call: Callable[[], object]) -> tuple[str, object]:
    try:
        return "value", call()
    except Exception as exc:  # the error itself is what is compared
        return type(exc).__name__, str(exc)


def answers(cfg: IniConfig) -> list[tuple[str, object]]:
    calls: list[Callable[[], object]] = [
        *(lambda k=k: cfg.get_main_option(k) for k in KEYS),
        *(lambda k=k: cfg.get_alembic_option(k, "dflt") for k in KEYS),
        *(lambda s=s, k=k: cfg.get_section_option(s, k) for s in SECTIONS for k in ("x", "db")),
        lambda: cfg.get_alembic_boolean_option("key"),
        cfg.get_version_locations_list, cfg.get_prepend_sys_paths_list,
    ]
    return [outcome(call) for call in calls]


#: Odd but real lines, mixed at random into generated files.
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


def compare(tmp_path: Path, text: str) -> bool:
    """Both ways give the same answers; whether PlainIni read the file."""
    ini = tmp_path / "alembic.ini"
    ini.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    light = IniConfig(ini)
    parsed = IniConfig(ini)
    outcome(lambda: parsed.file_config)  # ConfigParser from the start
    assert answers(light) == answers(parsed)
    return light._plain_ini() is not None


@pytest.mark.parametrize("text", PLAIN.values(), ids=PLAIN.keys())
def test_an_ordinary_file_is_read_as_configparser_reads_it(tmp_path: Path, text: str) -> None:
    assert compare(tmp_path, text)


@pytest.mark.parametrize("text", LEFT.values(), ids=LEFT.keys())
def test_any_other_file_is_left_to_configparser(tmp_path: Path, text: str) -> None:
    assert not compare(tmp_path, text)


def test_a_folder_with_a_percent_sign_is_left_to_configparser(tmp_path: Path) -> None:
    """ConfigParser refuses the default ``here`` then (invalid interpolation syntax)."""
    folder = tmp_path / "50%"
    folder.mkdir()
    assert not compare(folder, PLAIN["alembic's template"])


def test_a_missing_file_is_left_to_configparser(tmp_path: Path) -> None:
    assert PlainIni.read(tmp_path / "alembic.ini", str(tmp_path)) is None
    cfg = IniConfig(tmp_path / "alembic.ini")
    assert outcome(lambda: cfg.get_main_option("script_location"))[0] == "ValueError"


def test_reading_an_ordinary_file_imports_no_configparser(tmp_path: Path) -> None:
    ini = tmp_path / "alembic.ini"
    ini.write_text(PLAIN["alembic's template"])
    code = ("import sys\nfrom sluice.core.ini import IniConfig\n"
            f"cfg = IniConfig({str(ini)!r})\n"
            "print(cfg.get_main_option('script_location'), 'configparser' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == [f"{tmp_path.as_posix()}/migrations", "False"]


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
