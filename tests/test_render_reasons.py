"""A revision with a non-standard signature that fails for another reason is reported with
that reason (the exception class and its first line), not as a signature problem."""

from __future__ import annotations

from pathlib import Path

from sluice.lint.render import REASON_SIGNATURE, Renderer
from tests.support.render import line_of, project_fixture, render, renderer_fixture, write  # noqa: F401

HEADER = '''
"""r1

Revision ID: r1
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None
'''


def test_dialect_error_under_a_non_standard_signature_keeps_its_reason(
        project: Path, renderer: Renderer) -> None:
    path = write(project, "r1.py", HEADER + """
def upgrade(op, tables):
    if op.get_context().dialect.supports_time_travel:
        op.drop_column("users", "x")
""")
    out = render(renderer, path, all_dialects=False)
    assert not out.ok
    assert out.reason == "AttributeError" and out.reason != REASON_SIGNATURE
    assert out.detail is not None
    assert "upgrade(op, tables)" in out.detail  # the stand-in arguments it ran with
    assert "supports_time_travel" in out.detail  # (the type is the reason, said once)
    assert out.line == line_of(path, "supports_time_travel")


def test_a_call_the_stand_ins_cannot_make_is_a_signature_reason(
        project: Path, renderer: Renderer) -> None:
    path = write(project, "r1.py", HEADER + """
def upgrade(a, /):
    op.drop_column("users", "x")
""")
    out = render(renderer, path, all_dialects=False)
    assert out.reason == REASON_SIGNATURE and "positional-only" in (out.detail or "")
