"""sluice.output.jsonout.json_text writes exactly what json.dumps(indent=2, default=str)
writes, for any mix of containers and scalars."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sluice.core.findings import Finding
from sluice.output.jsonout import Encoded, findings_json, json_text, list_items
from tests.support.lint import INDEX, project


def reference(data: Any) -> str:
    return json.dumps(data, indent=2, default=str) + "\n"


SCALARS: list[Any] = [0, -7, 2**70, 1.5, -0.0, 1e300, float("nan"), float("inf"), True,
                      False, None, "", "plain", 'quote " back \\ slash', "tab\tnew\nline",
                      "caf\u00e9 \u2603 \U0001f600", "\x00\x1f", Path("a/b.py"),
                      dt.date(2026, 12, 6)]


def random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(6 if depth < 4 else 1)
    if kind in (0, 1):
        return rng.choice(SCALARS)
    if kind in (2, 3):
        keys: list[Any] = ["a", "b", "long key", "\u00e9", 1, 2.5, True, None, "z"]
        return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randrange(5))}
    if kind == 4:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return tuple(random_value(rng, depth + 1) for _ in range(rng.randrange(4)))


@pytest.mark.parametrize("seed", range(300))
def test_random_documents_match_json_dumps(seed: int) -> None:
    data = random_value(random.Random(seed), 0)
    assert json_text(data) == reference(data)


@pytest.mark.parametrize("data", [
    {}, [], (), {"a": {}}, {"a": []}, [[], {}], {"a": [1, [2, {"b": ()}]]}, "x", 3, None,
    {1: "int key", False: "bool key", None: "null key", 2.5: "float key"},
    [{"nested": {"deeper": [1, 2, {"deepest": "x"}]}}, 5],
])
def test_edge_documents_match_json_dumps(data: Any) -> None:
    assert json_text(data) == reference(data)


def test_findings_document_matches_json_dumps() -> None:
    findings = [
        Finding("SL001", "drop-table", "error", "Dropping table \"t\u00e9\"", "Use a view",
                "versions/a.py", 3, "abc", "postgresql"),
        Finding("SL903", "static-only", "info", "line\nbreak", "", "versions/b.py",
                suppressed="noqa"),
        Finding("C101", "drift", "error", "drift", path="x", line=1, check="drift",
                details="tables a, b"),
    ]
    data = findings_json(findings, extra={"revisions": 2, "coverage": {"static": 1},
                                          "dialects": ["postgresql"]})
    assert json_text(data) == reference(data)


def test_unencodable_key_is_a_type_error_like_json_dumps() -> None:
    with pytest.raises(TypeError):
        reference({("a",): 1})
    with pytest.raises(TypeError):
        json_text({("a",): 1})
    with pytest.raises(TypeError):
        json_text({"x": [1, {("a",): 1}]})


@pytest.mark.parametrize("seed", range(100))
def test_lists_of_flat_records_match_json_dumps(seed: int) -> None:
    """The path that encodes a whole list of flat dicts at once (findings)."""
    rng = random.Random(seed)
    tricky: list[Any] = ["},\n{", "}, {", ",\n", "\",\n\"", "{\"a\": 1}", "]", "[{", [], {},
                         (), ["x"], {"k": [1]}]
    records = [{rng.choice(["rule", "},\n{", "x,\ny", "path"]): rng.choice(SCALARS + tricky)
                for _ in range(rng.randrange(1, 5))} for _ in range(rng.randrange(1, 6))]
    if rng.random() < 0.2:
        records.append({})
    data = {"findings": records, "n": len(records)} if seed % 2 else [records, records]
    assert json_text(data) == reference(data)


def test_documents_match_json_dumps_without_the_c_encoder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An interpreter without ``_json`` encodes with :mod:`json`'s encoder."""
    from sluice.output import jsonout

    monkeypatch.setitem(sys.modules, "_json", None)  # its import fails
    monkeypatch.setattr(jsonout, "_ENCODERS", {})
    rng = random.Random(7)
    for data in [random_value(rng, 0) for _ in range(50)] + [
            [{"a": 1, "b": [], "c": "},\n{"}, {"a": float("nan")}], "x", 3]:
        assert json_text(data) == reference(data)
    assert all(encoder._c is None for encoder in jsonout._ENCODERS.values())


WARM_JSON = """
import sys
from sluice.integrations.cli.fast import run
try:
    run(["lint", "--format", "json"])
except SystemExit:
    pass
sys.stderr.write(" ".join(sorted(sys.modules)))
"""


def warm_json_modules(tmp_path: Path) -> set[str]:
    """What a warm ``sluice lint --format json`` (the fast path, one revision edited
    after the cache was filled) has loaded."""
    root = tmp_path / "p"
    project(root)
    (root / "migrations" / "versions" / "b000.py").write_text(INDEX)
    for edit in (False, True):
        if edit:
            path = root / "migrations" / "versions" / "a001.py"
            path.write_text(path.read_text() + "\n# edited\n")
        done = subprocess.run([sys.executable, "-c", WARM_JSON], cwd=root,
                              capture_output=True, text=True)
        assert '"findings": [' in done.stdout
    return set(done.stderr.split())


def test_a_warm_json_lint_does_not_import_json(tmp_path: Path) -> None:
    """``sluice lint --format json`` encodes with the C encoder alone: the json package
    (whose decoder compiles regular expressions at import) is not loaded."""
    modules = warm_json_modules(tmp_path)
    assert "_json" in modules
    assert not modules & {"json", "json.decoder", "json.scanner", "json.encoder"}


def test_a_warm_json_lint_does_not_import_the_text_renderer(tmp_path: Path) -> None:
    """The severity counts are a line of the text format only."""
    modules = warm_json_modules(tmp_path)
    assert "sluice.output.jsonout" in modules
    assert "sluice.output.text" not in modules


def test_a_list_of_records_is_kept_in_pieces_not_concatenated() -> None:
    """The findings are the bulk of a document: their text, as the encoder wrote it, is
    one piece of the document (joined once, at the end), not copied into a larger string
    with its opening and closing lines first."""
    from sluice.output.jsonout import _records

    records = [{"rule": f"SL{i}", "message": "m" * 500, "line": i, "path": None}
               for i in range(50)]
    pieces = _records(records, 1)
    assert isinstance(pieces, list)
    assert sorted(map(len, pieces))[:-1] == [6, 13]  # "\n    }" and "\n    {\n      "
    assert json_text([records, 1]) == reference([records, 1])


def test_findings_reach_the_stream_in_pieces_not_as_one_copy_of_the_document() -> None:
    from sluice.output.jsonout import render_json

    class Recorder(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.sizes: list[int] = []

        def write(self, text: str) -> int:
            self.sizes.append(len(text))
            return super().write(text)

    findings = [Finding("SL001", "drop-table", "error", "m" * 300, "f\n" * 50, f"v/{i}.py", i)
                for i in range(40)]
    extra = {"revisions": [{"path": f"v/{i}.py", "notes": []} for i in range(300)]}
    stream = Recorder()
    render_json(findings, stream, extra=extra)
    expected = reference(findings_json(findings, extra=extra))
    assert stream.getvalue() == expected
    assert max(stream.sizes) < len(expected) * 0.8  # the findings, the largest piece


@pytest.mark.parametrize("items", [
    [{"rule": "SL001", "line": 3, "path": "a.py"}, {"rule": "SL002", "line": None}],
    [{"a": 1}, {"b": [1, 2], "c": {}}, {"d": "x\ny"}, {}, [], [3, {"e": None}], "s", 7],
    [{"rule": f"SL{i:03d}", "n": [i] * (i % 3)} for i in range(9)],
])
def test_encoded_pieces_make_the_document_of_their_items(items: list[Any]) -> None:
    """A list given as :class:`Encoded` pieces (each :func:`list_items` of a run of its
    items, at the list's depth) is written as the list of those items."""
    for cut in range(1, len(items)):
        for depth, wrap in ((1, lambda v: {"findings": v, "n": 1}), (2, lambda v: {"x": {"y": v}})):
            pieces = Encoded([list_items(items[:cut], depth), list_items(items[cut:], depth)])
            assert json_text(wrap(pieces)) == reference(wrap(items))
    assert json_text({"findings": Encoded([]), "n": 1}) == reference({"findings": [], "n": 1})
