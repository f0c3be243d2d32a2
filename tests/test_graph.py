"""`sluice graph` and `sluice heads` on branched, merged and diverged histories (golden files).

Regenerate the golden files after an intended output change with
``SLUICE_UPDATE_GOLDEN=1 python -m pytest tests/test_graph.py``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from sluice.graph import explain_heads, load_graph, render_text
from tests.support.cli import run_cli

GOLDEN = Path(__file__).resolve().parent / "golden"

INI = """[alembic]
script_location = %(here)s/migrations
path_separator = os
sqlalchemy.url = sqlite:///%(here)s/graph.db
"""

# (id, down_revision, message, extra module lines)
BRANCHED_AND_MERGED = [
    ("a1", None, "initial schema", ""),
    ("a2", "a1", "add orders", ""),
    ("b1", "a2", "billing: invoices", ""),
    ("c1", "a2", "catalog: products", ""),
    ("m1", ("b1", "c1"), "merge billing and catalog", ""),
    ("d1", "m1", "add order notes", ""),
    ("e1", "d1", "order status [expand]", 'sluice_phase = "expand"\n'),
    ("e2", "e1", "order status [contract]", 'sluice_phase = "contract"\n'),
    ("x1", None, "reports base", 'branch_labels = ("reports",)\n'),
    ("x2", "x1", "reports read orders", 'depends_on = "a2"\n'),
]

DIVERGED = [
    ("a1", None, "initial schema", ""),
    ("a2", "a1", "add orders", ""),
    ("f1", "a2", "add coupons", ""),
    ("g1", "a2", "add gift cards", ""),
    ("g2", "g1", "gift card expiry", ""),
]


def write_history(root: Path, revisions: list[tuple[str, object, str, str]],
                  config: str = "") -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "env.py").write_text("")
    (root / "alembic.ini").write_text(INI)
    (root / "sluice.toml").write_text(config)
    for rev, down, message, extra in revisions:
        lines = [f'"""{message}\n\nRevision ID: {rev}\n"""', f"revision = {rev!r}",
                 f"down_revision = {down!r}"]
        if "branch_labels" not in extra:
            lines.append("branch_labels = None")
        if "depends_on" not in extra:
            lines.append("depends_on = None")
        body = "\n".join(lines) + "\n" + extra + (
            "\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")
        (versions / f"{rev}_{message.split(':')[0].split(' [')[0].replace(' ', '_')}.py"
         ).write_text(body)
    return root / "alembic.ini"


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SLUICE_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with SLUICE_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"output differs from {path}"


def sluice(*args: str) -> tuple[int, str, str]:
    result = run_cli(list(args))
    return result.exit_code, result.stdout, result.stderr


def set_database(root: Path, table: str, revisions: list[str]) -> str:
    url = f"sqlite:///{root / 'graph.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE IF NOT EXISTS {table} (version_num VARCHAR(32))"))
        for rev in revisions:
            conn.execute(sa.text(f"INSERT INTO {table} VALUES (:r)"), {"r": rev})
    engine.dispose()
    return url


# --------------------------------------------------------------------------- graph


def test_branched_and_merged_history_as_text(tmp_path: Path) -> None:
    ini = write_history(tmp_path, BRANCHED_AND_MERGED)
    code, out, _ = sluice("graph", "-c", str(ini))
    assert code == 0
    golden("graph_branched.txt", out)


@pytest.mark.parametrize(("fmt", "name"), [("mermaid", "graph_branched.mmd"),
                                           ("dot", "graph_branched.dot")])
def test_branched_and_merged_history_for_docs(tmp_path: Path, fmt: str, name: str) -> None:
    ini = write_history(tmp_path, BRANCHED_AND_MERGED)
    code, out, _ = sluice("graph", "-c", str(ini), "--format", fmt)
    assert code == 0
    golden(name, out)


def test_graph_marks_where_the_database_is(tmp_path: Path) -> None:
    ini = write_history(tmp_path, BRANCHED_AND_MERGED)
    url = set_database(tmp_path, "alembic_version", ["d1", "x1"])
    code, out, _ = sluice("graph", "-c", str(ini), "--url", url)
    assert code == 0
    golden("graph_branched_db.txt", out)
    code, out, _ = sluice("graph", "-c", str(ini), "--url", url, "--format", "mermaid")
    assert "    class r_d1,r_x1 current\n" in out


def test_graph_of_an_empty_database(tmp_path: Path) -> None:
    ini = write_history(tmp_path, DIVERGED)
    sa.create_engine(f"sqlite:///{tmp_path / 'new.db'}").connect().close()  # an empty file
    code, out, _ = sluice("graph", "-c", str(ini), "--url", f"sqlite:///{tmp_path / 'new.db'}")
    assert code == 0
    assert out.startswith("Revision graph: 5 revisions, 2 heads, database at base (empty)\n")
    assert "<- database" not in out


def test_graph_json(tmp_path: Path) -> None:
    ini = write_history(tmp_path, BRANCHED_AND_MERGED)
    code, out, _ = sluice("graph", "-c", str(ini), "--format", "json")
    data = json.loads(out)
    assert data["heads"] == ["e2", "x2"]
    assert data["bases"] == ["a1", "x1"]
    by_id = {r["revision"]: r for r in data["revisions"]}
    assert by_id["m1"]["merge_point"] and by_id["m1"]["down_revisions"] == ["b1", "c1"]
    assert by_id["a2"]["branch_point"]
    assert by_id["x2"]["branches"] == ["reports"] and by_id["x2"]["depends_on"] == ["a2"]
    assert by_id["e2"]["phase"] == "contract"
    assert [r["revision"] for r in data["revisions"]].index("m1") > \
        [r["revision"] for r in data["revisions"]].index("c1")


def test_graph_of_the_multiservice_example(multiservice: Path, tmp_path: Path) -> None:
    graph = load_graph(multiservice / "alembic.ini")
    text = render_text(graph)
    assert "b0001  billing: invoices and payments  [billing]  depends on s0001  HEAD (billing)" \
        in text
    assert "r0001" not in text  # reporting lives in its own environment ...
    reporting = render_text(load_graph(multiservice / "alembic.ini", name="reporting"))
    assert "r0001  reporting: daily sales" in reporting  # ... shown with -n reporting


def test_graph_reads_service_version_tables(multiservice: Path) -> None:
    url = set_database(multiservice, "alembic_version", ["b0001"])
    set_database(multiservice, "reporting_version", ["r0001"])
    graph = load_graph(multiservice / "alembic.ini", name="reporting", url=url)
    assert graph.current == {"reporting_version": ["r0001"]}
    assert load_graph(multiservice / "alembic.ini", url=url).current == {
        "alembic_version": ["b0001"]}
    assert "r0001  reporting: daily sales  [reporting]  HEAD (reporting)  <- database " \
           "(reporting_version)" in render_text(graph)


# --------------------------------------------------------------------------- heads


def test_diverged_heads_are_explained_with_the_merge_command(tmp_path: Path) -> None:
    write_history(tmp_path, DIVERGED)
    result = run_cli(["heads"], cwd=tmp_path)
    code, out = result.exit_code, result.stdout
    assert code == 1
    golden("heads_diverged.txt", out)
    assert "alembic -c alembic.ini merge -m 'merge heads' f1 g2" in out


def test_expected_heads_are_fine(tmp_path: Path) -> None:
    ini = write_history(tmp_path, BRANCHED_AND_MERGED,
                        '[check]\nexpected_heads = ["reports", "e2"]\n')
    code, out, _ = sluice("heads", "-c", str(ini))
    assert code == 0, out
    assert "Every head is expected ([check] expected_heads); nothing to merge." in out


def test_two_heads_on_one_expected_branch(tmp_path: Path) -> None:
    history = [*BRANCHED_AND_MERGED, ("x3", "x1", "reports: second line", "")]
    ini = write_history(tmp_path, history, '[check]\nexpected_heads = ["reports", "e2"]\n')
    code, out, _ = sluice("heads", "-c", str(ini))
    assert code == 1
    assert "branch 'reports' has 2 heads; they split after x1 (last common ancestor):" in out
    assert "  x2: x2\n  x3: x3\n" in out
    # with the -c it was given: the merge acts on the project it read
    assert f"alembic -c {ini} merge -m 'merge reports heads' x2 x3" in out
    code, out, _ = sluice("heads", "-c", str(ini), "--format", "json")
    data = json.loads(out)
    assert data["ok"] is False
    assert data["merges"] == [{"branch": "reports", "heads": ["x2", "x3"],
                               "common_ancestors": ["x1"], "since": {"x2": ["x2"], "x3": ["x3"]},
                               "command": f"alembic -c {ini} merge -m 'merge reports heads' x2 x3"}]


def test_unexpected_head_next_to_expected_ones(tmp_path: Path) -> None:
    history = [*BRANCHED_AND_MERGED, ("h1", "d1", "hotfix written on an old head", "")]
    ini = write_history(tmp_path, history, '[check]\nexpected_heads = ["reports", "e2"]\n')
    code, out, _ = sluice("heads", "-c", str(ini))
    assert code == 1
    assert ("h1 is a head but matches no entry of [check] expected_heads; it split "
            "from e2 after d1:") in out
    assert f"alembic -c {ini} merge -m 'merge heads' e2 h1" in out


def test_service_branches_are_suggested_for_expected_heads(multiservice: Path) -> None:
    toml = multiservice / "sluice.toml"
    toml.write_text(toml.read_text().split("# One head per service")[0])
    code, out, _ = sluice("heads", "-c", str(multiservice / "alembic.ini"))
    assert code == 1
    assert ('declare them with [check] expected_heads = ["billing", "catalog", '
            '"shared"] instead of merging') in out


def test_heads_report_api(tmp_path: Path) -> None:
    graph = load_graph(write_history(tmp_path, DIVERGED))
    report = explain_heads(graph, [])
    (group,) = report.groups
    assert group.common_ancestors == ["a2"]
    assert group.since == {"f1": ["f1"], "g2": ["g2", "g1"]}
    assert explain_heads(graph, ["f1", "g2"]).ok


# --------------------------------------------------------------------------- broken histories


@pytest.mark.parametrize("command", ["graph", "heads"])
def test_a_revision_that_does_not_import_keeps_its_place(tmp_path: Path, command: str) -> None:
    """The app's packages are often missing where Sluice runs (CI): the graph comes from the
    revision headers, as for lint and check."""
    ini = write_history(tmp_path, DIVERGED)
    path = tmp_path / "migrations" / "versions" / "g1_add_gift_cards.py"
    path.write_text(path.read_text().replace("revision = ", "import not_a_module_anywhere\n"
                                             "revision = ", 1))
    code, out, err = sluice(command, "-c", str(ini), "--format", "json")
    assert err == ""
    assert code == (1 if command == "heads" else 0)  # heads: f1 and g2 need a merge
    data = json.loads(out)
    if command == "graph":
        by_id = {r["revision"]: r for r in data["revisions"]}
        assert by_id["g1"]["down_revisions"] == ["a2"] and by_id["g1"]["message"] == \
            "add gift cards"
        assert data["heads"] == ["f1", "g2"]
    else:
        assert [h["revision"] for h in data["heads"]] == ["f1", "g2"]


def test_a_computed_header_is_imported_and_stub_stands_in(tmp_path: Path) -> None:
    ini = write_history(tmp_path, DIVERGED)
    path = tmp_path / "migrations" / "versions" / "g2_gift_card_expiry.py"
    path.write_text("import giftapp.models\nPARENT = 'g1'\n" + path.read_text().replace(
        "down_revision = 'g1'", "down_revision = PARENT"))
    assert "down_revision = PARENT" in path.read_text()
    code, _, err = sluice("graph", "-c", str(ini))
    assert code == 2
    assert err == ("sluice: error: migrations/versions/g2_gift_card_expiry.py:1: its revision "
                   "header is computed at import time and the import fails: "
                   "ModuleNotFoundError: No module named 'giftapp' (pass --stub giftapp, or add "
                   "it to [tool.sluice.lint] stub_modules)\n")
    for command in ("graph", "heads"):
        code, out, err = sluice(command, "-c", str(ini), "--stub", "giftapp")
        assert err == "" and code in (0, 1), (command, err)
        assert "g2" in out
    code, out, _ = sluice("graph", "-c", str(ini), "--stub", "giftapp", "--format", "json")
    assert {r["revision"]: r["down_revisions"] for r in json.loads(out)["revisions"]}["g2"] \
        == ["g1"]
    assert "giftapp" not in sys.modules


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    ini = write_history(tmp_path, DIVERGED)
    path = tmp_path / "migrations" / "versions" / "f1_add_coupons.py"
    path.write_text(path.read_text() + "\ndef broken(:\n")
    code, _, err = sluice("heads", "-c", str(ini))
    assert code == 2
    assert err.startswith("sluice: error: migrations/versions/f1_add_coupons.py:")
    assert "cannot load the revision: SyntaxError" in err
    assert len(err.strip().splitlines()) == 1


def test_cycle_names_the_files(tmp_path: Path) -> None:
    ini = write_history(tmp_path, [("a1", "a3", "one", ""), ("a2", "a1", "two", ""),
                                   ("a3", "a2", "three", ""), ("z1", None, "base", "")])
    code, _, err = sluice("graph", "-c", str(ini))
    assert code == 2
    assert "migrations/versions/a1_one.py" in err and "migrations/versions/a3_three.py" in err
    assert "Cycle is detected in revisions" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_parent_names_the_file(tmp_path: Path) -> None:
    ini = write_history(tmp_path, [("a1", None, "one", ""), ("a2", "zz", "two", "")])
    code, _, err = sluice("graph", "-c", str(ini))
    assert code == 2
    assert err == ("sluice: error: migrations/versions/a2_two.py: down_revision 'zz' of "
                   "revision a2 does not exist (no revision file declares it)\n")


def test_missing_ini_and_unknown_section(tmp_path: Path) -> None:
    code, _, err = sluice("graph", "-c", str(tmp_path / "nope.ini"))
    assert code == 2 and "nope.ini: no such file" in err
    ini = write_history(tmp_path, DIVERGED)
    code, _, err = sluice("graph", "-c", str(ini), "-n", "billing")
    assert code == 2 and "no section [billing]" in err


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    ini = write_history(tmp_path, DIVERGED)
    url = "postgresql+psycopg://sluice:secret@127.0.0.1:1/nothing"
    code, _, err = sluice("graph", "-c", str(ini), "--url", url)
    assert code == 2
    assert "cannot connect to postgresql+psycopg://sluice:***@127.0.0.1:1/nothing" in err
    assert "secret" not in err


def test_long_history_is_drawn_flat_and_heads_found(tmp_path: Path) -> None:
    history = [(f"r{i:04d}", f"r{i - 1:04d}" if i else None, f"step {i}", "")
               for i in range(1050)]  # deeper than Python's recursion limit
    history += [("side1", "r1000", "side line", ""), ("side2", "side1", "side line two", "")]
    ini = write_history(tmp_path, history)
    code, out, _ = sluice("graph", "-c", str(ini))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1 + 1052  # one line per revision, plus the title
    assert max(len(line) - len(line.lstrip("│├└─ ")) for line in lines) < 20
    graph = load_graph(ini)
    (group,) = explain_heads(graph, []).groups
    assert group.common_ancestors == ["r1000"]
    assert group.since["side2"] == ["side2", "side1"]
    assert len(group.since["r1049"]) == 49


def _edges(fmt: str, out: str) -> list[tuple[str, str, str]]:
    """(from, label, to) of every edge in Mermaid or dot output; ids as revision ids."""
    if fmt == "mermaid":
        found = re.findall(r"^\s+r_(\w+) (?:-->|-\. (.+?) \.->) r_(\w+)$", out, re.M)
    else:
        found = re.findall(r'^\s+"(\w+)" -> "(\w+)"(?: \[.*label="([^"]+)".*\])?;$', out, re.M)
        found = [(a, label, b) for a, b, label in found]
    return [(a, label, b) for a, label, b in found]


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_every_edge_points_from_a_revision_to_one_that_needs_it(tmp_path: Path,
                                                                  fmt: str) -> None:
    """depends_on edges run the same way as down_revision edges, and their label reads in
    the arrow's direction (x2 depends on a2: a2 is required by x2)."""
    ini = write_history(tmp_path, BRANCHED_AND_MERGED)
    graph = load_graph(ini)
    code, out, _ = sluice("graph", "-c", str(ini), "--format", fmt)
    assert code == 0
    edges = _edges(fmt, out)
    plain = {(a, b) for a, label, b in edges if not label}
    assert plain == {(p, rev) for rev, n in graph.nodes.items() for p in n.parents}
    dashed = [(a, label, b) for a, label, b in edges if label]
    assert dashed == [("a2", "required by", "x2")]
    assert graph.nodes["x2"].depends_on == ("a2",)


@pytest.mark.parametrize("command", ["graph", "heads"])
def test_invalid_sluice_toml_is_exit_2_naming_the_line(tmp_path: Path, command: str) -> None:
    ini = write_history(tmp_path, DIVERGED, config="exclude_tables = []\ncheck = = 2\n")
    code, out, err = sluice(command, "-c", str(ini))
    assert code == 2
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"sluice: error: {tmp_path / 'sluice.toml'}")
    assert "invalid TOML" in line and re.search(r"\.toml:2\b|line 2\b", line), line


# --------------------------------------------------------------------------- probe fixes


def test_heads_are_grouped_by_base(tmp_path: Path) -> None:
    """Heads split after b1 and a head on a separate base are two explanations, not "3
    heads with no common ancestor"."""
    history = [("a1", None, "initial schema", ""), ("a2", "a1", "add orders", ""),
               ("b1", "a2", "billing", 'branch_labels = ("billing",)\n'),
               ("c1", "a2", "catalog", 'branch_labels = ("catalog",)\n'),
               ("m1", ("b1", "c1"), "merge billing and catalog", ""),
               ("d1", "b1", "order notes", ""),
               ("x1", None, "reports base", 'branch_labels = ("reports",)\n'),
               ("x2", "x1", "reports read orders", 'depends_on = "a2"\n')]
    ini = write_history(tmp_path, history)
    code, out, _ = sluice("heads", "-c", str(ini))
    assert code == 1
    assert "no common ancestor" not in out
    assert "2 heads; they split after b1 (last common ancestor):" in out
    assert f"alembic -c {ini} merge -m 'merge heads' d1 m1\n" in out
    assert "x2 (branch reports) is on a separate base (x1)" in out
    assert 'add "reports" to [check] expected_heads' in out
    report = explain_heads(load_graph(ini), [])
    assert [(g.heads, g.common_ancestors, g.name) for g in report.groups] == [
        (["d1", "m1"], ["b1"], "all"), (["x2"], [], "separate")]


def test_heads_on_separate_bases_only_still_get_one_merge(tmp_path: Path) -> None:
    ini = write_history(tmp_path, [("a1", None, "one", ""), ("z1", None, "two", "")])
    code, out, _ = sluice("heads", "-c", str(ini))
    assert code == 1
    assert "2 heads with no common ancestor (separate bases):" in out
    assert f"alembic -c {ini} merge -m 'merge heads' a1 z1" in out


def test_a_head_applied_through_depends_on_is_an_effective_head(multiservice: Path) -> None:
    """`alembic upgrade heads` records b0001 and c0001; s0001 is applied because b0001
    depends on it (`alembic current`: "s0001 (effective head)")."""
    url = set_database(multiservice, "alembic_version", ["b0001", "c0001"])
    ini = str(multiservice / "alembic.ini")
    code, out, _ = sluice("graph", "-c", ini, "--url", url)
    assert code == 0
    assert "database at b0001, c0001, s0001 (effective head)" in out
    assert "HEAD (shared)  <- database (effective head)" in out
    data = json.loads(sluice("graph", "-c", ini, "--url", url, "--format", "json")[1])
    assert {r["revision"]: r["current"] for r in data["revisions"]} == {
        "b0001": True, "c0001": True, "s0001": True}
    assert data["effective_current"] == {"alembic_version": ["s0001"]}


@pytest.mark.parametrize("args", [["graph"], ["history"]])
def test_a_read_only_command_does_not_create_a_sqlite_file(multiservice: Path,
                                                           args: list[str]) -> None:
    ini = multiservice / "alembic.ini"
    missing = multiservice / "nonexist.db"
    code, out, err = sluice(*args, "-c", str(ini), "--url", f"sqlite:///{missing}")
    assert code == 2, out + err
    assert f"no SQLite database file {missing}" in err
    assert not missing.exists()


def test_history_does_not_create_the_ini_database(multiservice: Path) -> None:
    """Without --url the database is alembic.ini's (env.py reads it): missing, it is exit
    2 and no empty file is left behind."""
    code, out, err = sluice("history", "-c", str(multiservice / "alembic.ini"))
    assert code == 2, out + err
    assert "multiservice.db (a read-only command does not create one)" in err
    assert not (multiservice / "multiservice.db").exists()


@pytest.mark.parametrize("url", [False, True])
def test_plan_on_a_new_sqlite_database_plans_the_whole_history_and_leaves_no_file(
        multiservice: Path, url: bool) -> None:
    """A missing SQLite file is the new database `sluice upgrade` would create: plan shows
    every revision, and leaves no empty file behind."""
    db = multiservice / ("nonexist.db" if url else "multiservice.db")
    code, out, err = sluice("plan", "heads", "--no-sql", "-c", str(multiservice / "alembic.ini"),
                            *(["--url", f"sqlite:///{db}"] if url else []))
    assert code == 0, out + err
    assert "s0001" in out
    assert not db.exists()
