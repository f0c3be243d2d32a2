"""Every output format Sluice writes, and which results each one renders.

A command's ``--format`` choices are :func:`formats_for` its result kind, so a format
added here (with its renderer) is offered by every command whose results it renders.

Findings (``lint``, ``trace``, ``check``) are rendered by one renderer per format: the
``render`` function of the module named in :attr:`OutputFormat.findings`, all with the
signature of :data:`FindingsRenderer`. The other results (a plan, a graph, the audit
table ...) are rendered by their own feature in the formats the registry gives them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:  # the registry is read by every command's --format: no finding types
    from typing import IO, Any, Literal

    from sluice.core.findings import Finding, RuleDoc

    #: What a command produces: lint findings, a ``sluice check`` report, a trace, a plan,
    #: the report of an upgrade or downgrade run, the audit table, the revision graph, the
    #: heads explained, the rule catalog.
    Kind = Literal["lint", "check", "trace", "plan", "run", "history", "graph", "heads", "rules"]

KINDS: tuple[Kind, ...] = ("lint", "check", "trace", "plan", "run", "history", "graph",
                           "heads", "rules")

#: A finding's key in :attr:`FindingsContext.fixes`.
FixKey = tuple[str | None, int | None, str, str | None]


@dataclass(frozen=True)
class FindingsContext:
    """What a findings renderer may use besides the findings.

    ``summary``: closing lines for people (text: printed last; github: notices).
    ``extra``: more top-level keys for JSON, run properties for SARIF. ``rules``: rule
    docs by id (SARIF; None: the lint catalog). ``tool`` and ``command`` name the producer.
    ``fixes``: the diff ``sluice fix`` would make for a finding, by :func:`fix_key` (text
    shows it under the finding).
    """

    tool: str = "sluice"
    command: str = "lint"
    summary: Sequence[str] = ()
    extra: Mapping[str, Any] | None = None
    rules: Mapping[str, RuleDoc] | None = None
    fixes: Mapping[FixKey, str] | None = None


class FixText(str):
    """What the text output shows under a finding as its available fix (a unified diff,
    or where the diff is), with ``command``, the ``sluice fix`` command that makes it."""

    command: str

    def __new__(cls, text: str, command: str = "sluice fix") -> FixText:
        self = super().__new__(cls, text)
        self.command = command
        return self


def fix_key(f: Finding) -> FixKey:
    """Where and what a finding is: path, line, rule, dialect."""
    return (f.path, f.line, f.rule, f.dialect)


FindingsRenderer = Callable[[Sequence["Finding"], "IO[str]", "FindingsContext"], None]


@dataclass(frozen=True)
class OutputFormat:
    """An output format: its name, what it renders and how."""

    name: str
    #: One line for ``--help`` and the docs.
    summary: str
    #: The result kinds it renders.
    kinds: frozenset[Kind]
    #: Module whose ``render(findings, stream, context)`` writes findings in this format
    #: (None: the format has no findings renderer).
    findings: str | None = None
    #: For machines: written to stdout alone, nothing else goes there.
    machine: bool = True

    def findings_renderer(self) -> FindingsRenderer:
        """The findings renderer, its module imported on first use (the CLI of a command
        that writes text never imports the SARIF or JUnit code)."""
        if self.findings is None:
            raise ValueError(f"format {self.name!r} renders no findings")
        render: FindingsRenderer = importlib.import_module(self.findings).render
        return render


_ALL: frozenset[Kind] = frozenset(KINDS)

#: Every format, in the order ``--help`` lists them.
FORMATS: dict[str, OutputFormat] = {f.name: f for f in (
    OutputFormat("text", "for people; colour only on a terminal, none with NO_COLOR", _ALL,
                 findings="sluice.output.text", machine=False),
    OutputFormat("json", "stable keys: rule, name, severity, message, fix, path, line, "
                 "revision", _ALL, findings="sluice.output.jsonout"),
    OutputFormat("sarif", "SARIF 2.1.0, for GitHub code scanning and SARIF viewers",
                 frozenset({"lint", "check", "trace"}), findings="sluice.output.sarif"),
    OutputFormat("github", "GitHub Actions annotations on the pull request",
                 frozenset({"lint", "check", "trace"}), findings="sluice.output.github"),
    OutputFormat("gitlab", "GitLab code quality report",
                 frozenset({"lint", "check", "trace"}), findings="sluice.output.gitlab"),
    OutputFormat("junit", "JUnit XML, one test case per check", frozenset({"check"})),
    OutputFormat("mermaid", "a Mermaid flowchart, for docs and reviews",
                 frozenset({"graph"})),
    OutputFormat("dot", "a Graphviz digraph", frozenset({"graph"})),
)}


def formats_for(kind: Kind) -> tuple[str, ...]:
    """The format names that render ``kind``, text first."""
    if kind not in _ALL:
        raise ValueError(f"unknown result kind {kind!r}; valid: {', '.join(KINDS)}")
    return tuple(name for name, f in FORMATS.items() if kind in f.kinds)


def get_format(name: str, kind: Kind | None = None) -> OutputFormat:
    """The format ``name`` (that renders ``kind``, when given)."""
    fmt = FORMATS.get(name)
    if fmt is None or (kind is not None and kind not in fmt.kinds):
        valid = formats_for(kind) if kind is not None else tuple(FORMATS)
        what = f" for {kind}" if kind is not None else ""
        raise ValueError(f"unknown output format {name!r}{what}; valid: {', '.join(valid)}")
    return fmt
