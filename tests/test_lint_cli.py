"""``sluice lint`` and ``sluice rules``: exit codes, formats, one-line errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from sluice.lint.registry import all_rules
from tests.support.cli import Result, run_cli

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "realworld"


@pytest.fixture(scope="module")
def rw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("cli") / "realworld"
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns("__pycache__", ".sluice_cache"))
    return dest


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n")
    (versions / "a1_users.py").write_text(textwrap.dedent('''
        """users"""
        import sqlalchemy as sa
        from alembic import op

        revision = "a1"
        down_revision = None


        def upgrade():
            op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True))


        def downgrade():
            op.drop_table("users")
    ''').lstrip())
    return tmp_path


def run(*args: str) -> Result:
    result = run_cli(list(args))
    assert "Traceback" not in result.output, result.output
    return result


def test_clean_project_exits_0(clean: Path) -> None:
    result = run("lint", "-c", str(clean / "alembic.ini"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[:2] == ["no findings", "1 revision: 1 read statically, 0 rendered offline; "
                         "linted for postgresql, mysql, sqlite (no dialect named)"]
    assert lines[2].startswith("note: nothing names this project's database")
    assert lines[2].endswith('[tool.sluice.lint] dialects = ["postgresql"]')
    assert lines[3].startswith("note: no sluice.sum: every revision was linted")
    assert len(lines) == 4


def test_the_dialect_note_names_the_file_the_project_uses(clean: Path) -> None:
    (clean / "sluice.toml").write_text("exclude_tables = []\n")
    lines = run("lint", "-c", str(clean / "alembic.ini")).stdout.splitlines()
    assert lines[2].endswith('name yours in sluice.toml: [lint] dialects = ["postgresql"]')


def test_findings_exit_1_with_file_line_rule_message_and_fix(rw: Path) -> None:
    result = run("lint", "-c", str(rw / "alembic.ini"), "--no-cache", "--all")
    assert result.exit_code == 1
    out = result.stdout
    assert "\x1b[" not in out  # no colour when not on a terminal
    block = re.search(r"^(\S*rw02_app_types\.py:19)  error  SL002 drop-column\n"
                      r"  drops column users\.legacy.*\n  fix:\n    1\. ", out, re.M)
    assert block, out
    *_, last, note = out.strip().splitlines()  # (the note: SL3xx assumed MySQL 8.0, once)
    assert note.startswith("note: the MySQL findings assume MySQL 8.0"), note
    assert last.startswith("22 revisions: 15 read statically, 3 rendered offline (")
    assert ", 3 static only (reasons: " in last
    assert re.search(r"^\d+ errors, \d+ warnings, \d+ info \(\d+ suppressed\)$", out, re.M)


def test_fail_on(rw: Path) -> None:
    ini = str(rw / "alembic.ini")
    assert run("lint", "-c", ini, "--revision", "rw11").exit_code == 0  # a warning only
    assert run("lint", "-c", ini, "--revision", "rw11", "--fail-on", "warning").exit_code == 1
    assert run("lint", "-c", ini, "--revision", "rw12", "--fail-on", "info").exit_code == 0


def test_json_format(rw: Path) -> None:
    result = run("lint", "-c", str(rw / "alembic.ini"), "--format", "json", "--no-cache")
    assert result.exit_code == 1
    data = json.loads(result.stdout)  # stdout holds the JSON document and nothing else
    assert set(data) >= {"findings", "summary", "coverage", "revisions", "dialects"}
    finding = data["findings"][0]
    assert set(finding) == {"rule", "name", "severity", "message", "fix", "path", "line",
                            "revision", "dialect"}
    assert data["coverage"]["revisions"] == 22
    assert data["coverage"]["reasons"]["ImportError myapp"] == 1
    assert data["coverage"]["line"].startswith("22 revisions: 15 read statically")
    statuses = {r["path"].rsplit("/", 1)[-1]: (r["status"], r["render_needs"])
                for r in data["revisions"]}
    assert statuses["rw18_recursive.py"] == ("static", [])  # an op-only revision
    assert statuses["rw19_dialect_branch.py"] == ("rendered", ["dialect branch"])
    assert data["summary"]["failed"] is True and data["summary"]["fail_on"] == "error"
    statuses = {Path(r["path"]).stem: r["status"] for r in data["revisions"]}
    assert statuses["rw14_syntax_error"] == "unparsed"
    assert statuses["rw07_offline_raise"] == "static"


def test_sarif_format(rw: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(rw)
    result = run("lint", "--format", "sarif")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    (run_,) = doc["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "sluice"
    ids = [r["id"] for r in driver["rules"]]
    assert set(all_rules()) <= set(ids)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert run_["results"]
    for res in run_["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert res["message"]["text"]
        (loc,) = res["locations"]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uri"].startswith("migrations/")
        assert phys["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert phys["region"]["startLine"] >= 1
    assert run_["properties"]["coverage"]["revisions"] == 22
    monkeypatch.chdir(Path(__file__).parent)  # outside the project: absolute file URIs
    doc = json.loads(run("lint", "-c", str(rw / "alembic.ini"), "--format", "sarif",
                         "--revision", "rw02").stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in doc["runs"][0]["results"]}
    assert uris == {(rw / "migrations/versions/rw02_app_types.py").as_uri()}


def test_github_format(rw: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(rw)
    result = run("lint", "--format", "github", "--all")
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    pattern = re.compile(r"^::(error|warning|notice) file=[^,:]+,line=\d+,title=SL\d{3} "
                         r"[a-z0-9-]+::\S.*$")
    annotations = [line for line in lines if "file=" in line]
    assert annotations and all(pattern.match(line) for line in annotations), lines[:3]
    assert any(line.startswith("::error file=migrations/versions/rw02_app_types.py,line=19,"
                               "title=SL002 drop-column::") for line in annotations)
    assert "%0A%0AFix:%0A1. " in annotations[0]
    assert lines[-2].startswith("::notice title=sluice lint::22 revisions: ")
    assert lines[-1].startswith("::notice title=sluice lint::note: the MySQL findings assume")


def test_stub_flag_and_no_render(rw: Path) -> None:
    ini = str(rw / "alembic.ini")
    result = run("lint", "-c", ini, "--revision", "rw02", "--stub", "myapp", "--format",
                 "json")
    (rev,) = json.loads(result.stdout)["revisions"]
    assert rev["status"] == "rendered"
    result = run("lint", "-c", ini, "--revision", "rw02", "--no-render")
    assert result.stdout.strip().splitlines()[-2] == (
        "1 revision: 0 read statically, 0 rendered offline, 1 static only (reasons: "
        "rendering disabled 1); linted for postgresql, mysql, sqlite (lint.dialects)")


def test_dialect_filter(rw: Path) -> None:
    result = run("lint", "-c", str(rw / "alembic.ini"), "--revision", "rw04",
                 "--dialect", "sqlite", "--format", "json")
    data = json.loads(result.stdout)
    assert data["dialects"] == ["sqlite"]
    assert not [f for f in data["findings"] if f["rule"].startswith("SL2")]  # PostgreSQL


@pytest.mark.parametrize(("args", "message"), [
    (["--revision", "nope"], "--revision 'nope': no such revision"),
    (["--since", "rw01", "--revision", "rw02"], "choose one scope"),
    (["--base", "main"], "--base only applies with --changed"),
    (["--changed"], "needs a git repository"),
    (["--dialect", "oracle"], "unknown dialect 'oracle'"),
    (["--tree", "nowhere"], "tree 'nowhere': not a version location or branch label"),
])
def test_unusable_input_exits_2_with_one_line(rw: Path, args: list[str], message: str
                                             ) -> None:
    result = run("lint", "-c", str(rw / "alembic.ini"), *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("sluice: error: ") and message in result.stderr


def test_missing_ini_and_broken_config(tmp_path: Path) -> None:
    result = run("lint", "-c", str(tmp_path / "alembic.ini"))
    assert result.exit_code == 2 and "no such file" in result.stderr
    shutil.copytree(FIXTURE, tmp_path / "rw")
    (tmp_path / "rw" / "sluice.toml").write_text('[lint]\nfail_on = "sometimes"\n')
    result = run("lint", "-c", str(tmp_path / "rw" / "alembic.ini"))
    assert result.exit_code == 2 and "sluice.toml:2: lint.fail_on" in result.stderr


def test_rules_lists_the_catalog() -> None:
    result = run("rules")
    assert result.exit_code == 0
    for rule in all_rules().values():
        assert rule.id in result.stdout and rule.name in result.stdout
    data = json.loads(run("rules", "--format", "json").stdout)
    assert {r["id"] for r in data} == set(all_rules())
    assert {"SL900", "SL901", "SL902", "SL903", "SL904"} <= {r["id"] for r in data}


def test_rules_prints_one_rule() -> None:
    for key in ("SL002", "drop-column", "sl002"):
        result = run("rules", key)
        assert result.exit_code == 0
        assert result.stdout.startswith("SL002 drop-column\nfamily: destructive")
        assert "Safe alternative:" in result.stdout


def test_unknown_rule_exits_2_with_suggestion() -> None:
    result = run("rules", "SL02")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "sluice: error: unknown rule 'SL02'",
        "did you mean SL002, SL902, SL702? List the catalog with `sluice rules`."]
    result = run("rules", "drop-colum")
    assert "did you mean drop-column" in result.stderr


def test_tree_name_shared_by_several_folders_lints_them_all(tmp_path: Path) -> None:
    """An expand/contract history with one `expand` folder per service: `--tree expand`
    means every folder named expand, not the first one found."""
    locations = []
    for service in ("billing", "catalog", "shared"):
        down = None
        for phase in ("expand", "contract"):
            folder = tmp_path / "migrations" / service / phase
            folder.mkdir(parents=True)
            locations.append(f"%(here)s/migrations/{service}/{phase}")
            rev = f"{service[0]}_{phase}"
            (folder / f"{rev}.py").write_text(textwrap.dedent(f'''
                """{service} {phase}"""
                revision = "{rev}"
                down_revision = {down!r}
                branch_labels = {(service,) if down is None else None!r}
                depends_on = None


                def upgrade():
                    pass


                def downgrade():
                    pass
            '''))
            down = rev
    (tmp_path / "migrations" / "env.py").write_text("")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
        f"version_locations = {os.pathsep.join(locations)}\n")
    res = run_cli(["lint", "-c", str(tmp_path / "alembic.ini"), "--tree",
                   "expand", "--no-render", "--no-cache", "--format", "json"])
    assert res.exit_code == 0, res.output
    linted = sorted(Path(r["path"]).stem for r in json.loads(res.stdout)["revisions"])
    assert linted == ["b_expand", "c_expand", "s_expand"]


def test_a_column_named_by_a_variable_is_read_with_its_type(clean: Path) -> None:
    """``sa.Column(column, sa.UnicodeText, ...)``: the variable is the column's name and
    the type follows it (a column dropped and added again with it, as in CKAN's 016)."""
    (clean / "migrations" / "versions" / "a2_uuids.py").write_text(textwrap.dedent('''
        """uuids everywhere"""
        import sqlalchemy as sa
        from alembic import op

        revision = "a2"
        down_revision = "a1"

        foreign_keys = [("package_tag", "package_id"), ("package_tag", "tag_id")]


        def upgrade():
            for table, column in foreign_keys:
                op.drop_column(table, column)
            for table, column in foreign_keys:
                op.add_column(table, sa.Column(column, sa.UnicodeText,
                                               sa.ForeignKey(column.replace("_", "."))))


        def downgrade():
            pass
    ''').lstrip())
    out = run("lint", "-c", str(clean / "alembic.ini"), "--dialect", "postgresql",
              "--no-cache").stdout
    for column in ("package_id", "tag_id"):
        assert f"drops package_tag.{column} and adds it again as UnicodeText() at line 15" \
            in out
    assert "column()" not in out
