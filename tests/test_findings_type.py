"""One finding type: lint, check, trace and plan all report sluice.core.findings.Finding."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from sluice.core.findings import Finding, check_finding

SRC = Path(__file__).resolve().parent.parent / "src" / "sluice"

#: A class whose name says it is a finding or a problem (``class Finding``, ``class
#: LintFinding(...)``, ``class Problem``).
_FINDING_CLASS = re.compile(r"^\s*class\s+(\w*(?:Finding|Problem))\b", re.M)


def test_src_defines_one_finding_class() -> None:
    found = [
        (str(path.relative_to(SRC)), m.group(1))
        for path in sorted(SRC.rglob("*.py"))
        for m in _FINDING_CLASS.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == [("core/findings.py", "Finding")]


def test_every_command_imports_the_same_class() -> None:
    from sluice.check import Finding as check_finding_type
    from sluice.lint.model import Finding as lint_finding
    from sluice.runner import plan
    from sluice.trace import model as trace_model

    assert lint_finding is Finding
    assert check_finding_type is Finding
    assert plan.Finding is Finding
    assert trace_model.Finding is Finding


def test_a_finding_is_immutable() -> None:
    f = Finding(rule="SL001", name="drop-table", severity="error", message="m", fix="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.severity = "info"  # type: ignore[misc]
    assert dataclasses.replace(f, suppressed="reviewed").suppressed == "reviewed"
    assert f.suppressed is None


def test_lint_json_shape() -> None:
    f = Finding(rule="SL001", name="drop-table", severity="error", message="m", fix="x",
                path="v/1.py", line=3, revision="1", dialect="postgresql")
    assert list(f.as_dict()) == ["rule", "name", "severity", "message", "fix", "path",
                                 "line", "revision", "dialect"]
    silenced = dataclasses.replace(f, suppressed="reviewed")
    assert silenced.as_dict()["suppressed"] == "reviewed"


def test_check_finding_json_shape() -> None:
    p = check_finding("graph", "multiple-heads", "two heads", "merge them", path="a.py",
                      line=4, details="a\nb")
    assert p.rule == "check.graph" and p.name == p.kind == "multiple-heads"
    assert p.severity == "error" and p.where == "a.py:4"
    assert p.as_dict() == {
        "rule": "check.graph", "name": "multiple-heads", "severity": "error",
        "message": "two heads", "fix": "merge them", "path": "a.py", "line": 4,
        "revision": None, "details": "a\nb",
    }
