"""The revision graph: a tree in the terminal, Mermaid or Graphviz, and multiple heads explained.

:func:`load_graph` reads each revision file's header (``revision``, ``down_revision``,
``branch_labels``, ``depends_on``, docstring, ``sluice_phase``) from its source, like lint
and check do, so a revision whose imports are missing where Sluice runs (the app's
packages in CI) still takes its place; only a file whose header is computed at import time
is imported (with ``stub_modules`` standing in for missing packages). Alembic's
:class:`~alembic.script.revision.RevisionMap` is built from the headers (cycles and missing
parents are one-line errors naming the files) and the result is a :class:`RevisionGraph`:
plain data that the renderers (:func:`render_text`, :func:`render_mermaid`,
:func:`render_dot`, :func:`graph_json`) and :func:`explain_heads` work on.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util import to_tuple

from sluice.config import SluiceConfig, load_config
from sluice.core.alembic_compat import load_script, own_branch_labels
from sluice.core.history import (
    History,
    RevisionHeader,
    build_map,
    read_header,
    script_revision_files,
)
from sluice.core.project import script_directory, section_config
from sluice.errors import DatabaseUnavailable, SluiceError, mask_url


@dataclass
class RevisionNode:
    id: str
    path: Path
    message: str
    parents: tuple[str, ...]
    depends_on: tuple[str, ...]
    #: Labels declared on this revision.
    labels: tuple[str, ...]
    #: Labels this revision belongs to (declared here or inherited, as Alembic sees them).
    branches: tuple[str, ...] = ()
    children: list[str] = field(default_factory=list)
    phase: str | None = None

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def is_branch_point(self) -> bool:
        return len(self.children) > 1


@dataclass
class RevisionGraph:
    nodes: dict[str, RevisionNode]
    heads: list[str]
    bases: list[str]
    root: Path
    #: Revisions the database is at, by version table (empty without a database).
    current: dict[str, list[str]] = field(default_factory=dict)
    #: Alembic's map of the revisions (see :func:`build_graph`).
    history: History | None = field(default=None, repr=False)

    def ancestors(self, rev: str) -> set[str]:
        """Every revision reachable through down_revision from ``rev`` (not ``rev`` itself)."""
        if self.history is None or rev not in self.nodes:
            return set()
        return self.history.ancestors(rev, dependencies=False)

    def current_revisions(self) -> set[str]:
        return {r for revs in self.current.values() for r in revs}

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def order(self) -> list[str]:
        """Topological order (parents first), ties broken by revision id."""
        indegree = {i: len([p for p in n.parents if p in self.nodes])
                    for i, n in self.nodes.items()}
        ready = sorted(i for i, d in indegree.items() if d == 0)
        out: list[str] = []
        while ready:
            cur = ready.pop(0)
            out.append(cur)
            for child in self.nodes[cur].children:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
                    ready.sort()
        return out


# --------------------------------------------------------------------------- loading


def _error_line(exc: BaseException, path: Path) -> int | None:
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == str(path):
            line = frame.lineno
    return line


@contextlib.contextmanager
def _stubbed(modules: Sequence[str]) -> Iterator[None]:
    """Import with stand-ins for ``modules`` (lint's ``stub_modules``), then forget them."""
    if not modules:
        yield
        return
    from sluice.lint.render.stubs import StubFinder

    finder = StubFinder(modules)
    hidden = {n: m for n, m in sys.modules.items() if finder.matches(n)}
    for name in hidden:
        del sys.modules[name]
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if finder.matches(n)]:
            del sys.modules[name]
        sys.modules.update(hidden)


def _imported(script_dir: ScriptDirectory, path: Path, root: Path,
              stub_modules: Sequence[str]) -> RevisionNode:
    """The node of a revision whose header is computed when it is imported."""
    try:
        with _stubbed(stub_modules):
            script = load_script(script_dir, path)
    except Exception as exc:
        line = _error_line(exc, path.resolve())
        where = _rel(path, root) + (f":{line}" if line else "")
        message = str(exc).splitlines()[0] if str(exc) else ""
        hint = ""
        if isinstance(exc, ImportError) and exc.name:
            top = exc.name.split(".")[0]
            hint = f" (pass --stub {top}, or add it to [tool.sluice.lint] stub_modules)"
        raise SluiceError(f"{where}: its revision header is computed at import time and the "
                          f"import fails: {type(exc).__name__}: {message}{hint}") from None
    if script is None:
        raise SluiceError(f"{_rel(path, root)}: not a revision file (no revision id)")
    phase = getattr(script.module, "sluice_phase", None)
    return RevisionNode(
        id=script.revision, path=path.resolve(),
        message=RevisionHeader(path=path, doc=script.longdoc).message,
        parents=tuple(to_tuple(script.down_revision, default=())),
        depends_on=tuple(to_tuple(script.dependencies, default=())),
        labels=tuple(sorted(own_branch_labels(script))),
        phase=phase if isinstance(phase, str) else None)


def read_node(script_dir: ScriptDirectory, path: Path, root: Path,
              stub_modules: Sequence[str] = ()) -> RevisionNode:
    """One revision's place in the graph, from its source (imported only when its header is
    not made of literals)."""
    info = read_header(path)
    if info.syntax_error is not None:
        line, error = info.syntax_error
        raise SluiceError(f"{_rel(path, root)}{f':{line}' if line else ''}: cannot load the "
                          f"revision: {error}")
    if info.dynamic or info.dynamic_links or info.revision is None:
        return _imported(script_dir, path, root, stub_modules)
    return RevisionNode(
        id=info.revision, path=path.resolve(), message=info.message,
        parents=info.down_revisions, depends_on=info.depends_on,
        labels=tuple(sorted(info.branch_labels)), phase=info.phase)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def build_graph(revisions: list[RevisionNode], root: Path) -> RevisionGraph:
    """The graph of ``revisions``; structural errors are one line naming the files."""
    rmap = build_map([RevisionHeader(path=r.path, revision=r.id, down_revisions=r.parents,
                                     depends_on=r.depends_on, branch_labels=r.labels)
                      for r in revisions], root=root)
    heads, bases = list(rmap.heads), list(rmap.bases)
    nodes: dict[str, RevisionNode] = {}
    for rev in revisions:
        mapped = rmap.get_revision(rev.id)
        assert mapped is not None
        rev.branches = tuple(sorted(mapped.branch_labels))
        rev.children = []
        nodes[rev.id] = rev
    for node in nodes.values():
        for parent in node.parents:
            nodes[parent].children.append(node.id)
    for node in nodes.values():
        node.children.sort()
    return RevisionGraph(nodes=nodes, heads=sorted(heads), bases=sorted(bases), root=root,
                         history=History(rmap))


def load_graph(ini: str | os.PathLike[str], *, name: str = "alembic",
               url: str | None = None, sluice_config: SluiceConfig | None = None,
               stub_modules: Sequence[str] = ()) -> RevisionGraph:
    """The revision graph of the project configured by ``ini`` (section ``name``).

    Revision headers are read from the source; ``stub_modules`` stand in for packages a
    revision whose header is computed at import time needs. With ``url``,
    :attr:`RevisionGraph.current` holds the revisions the database is at, read from the
    environment's version table (``alembic_version``, or the service's own
    ``version_table`` for its section).
    """
    cfg = section_config(ini, name)
    root = Path(ini).resolve().parent
    script_dir = script_directory(cfg)
    graph = build_graph([read_node(script_dir, p, root, stub_modules)
                         for p in script_revision_files(script_dir)], root)
    if url is not None:
        config = sluice_config or load_config(Path(ini))
        graph.current = database_revisions(url, version_tables(config, name))
    return graph


def version_tables(config: SluiceConfig, name: str = "alembic") -> list[str]:
    """The version table of the environment in ini section ``name``: a service's own
    ``version_table`` for its section, ``alembic_version`` otherwise."""
    svc = config.services.get(name)
    if svc is not None and svc.version_table:
        return [svc.version_table]
    return ["alembic_version"]


def database_revisions(url: str, tables: list[str]) -> dict[str, list[str]]:
    """Revisions recorded in each existing version table of the database at ``url``."""
    import sqlalchemy as sa
    from alembic.migration import MigrationContext

    try:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    except Exception as exc:
        raise SluiceError(f"--url {mask_url(url)}: {exc}") from None
    try:
        with engine.connect() as conn:
            existing = set(sa.inspect(conn).get_table_names())
            out: dict[str, list[str]] = {}
            for table in tables:
                if table not in existing:
                    out[table] = []  # never migrated: at base
                    continue
                ctx = MigrationContext.configure(conn, opts={"version_table": table})
                out[table] = sorted(ctx.get_current_heads())
            return out
    except sa.exc.OperationalError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseUnavailable(f"cannot connect to {mask_url(url)}: {reason}") from None
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- text tree


def _tags(graph: RevisionGraph, node: RevisionNode) -> list[str]:
    tags: list[str] = []
    if node.labels:
        tags.append("[" + ", ".join(node.labels) + "]")
    if node.phase:
        tags.append(f"<{node.phase}>")
    if node.is_merge:
        tags.append("merge of " + " + ".join(node.parents))
    if node.is_branch_point:
        tags.append("branch point")
    if node.depends_on:
        tags.append("depends on " + ", ".join(node.depends_on))
    if node.id in graph.heads:
        branch = ", ".join(node.branches)
        tags.append(f"HEAD ({branch})" if branch else "HEAD")
    for table, revs in sorted(graph.current.items()):
        if node.id in revs:
            tags.append("<- database" + ("" if table == "alembic_version" else f" ({table})"))
    return tags


def render_text(graph: RevisionGraph, *, width: int | None = 100, color: bool = False,
                title: str | None = None) -> str:
    """The revision tree, bases at the top; a merge is drawn under its first parent and
    referenced under the others."""
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    heading = title or _summary(graph)
    tree = Tree(Text(heading, style="bold"))
    drawn: set[str] = set()

    def label(node: RevisionNode) -> Text:
        text = Text()
        text.append(node.id, style="bold cyan")
        if node.message:
            text.append(f"  {node.message}")
        tags = _tags(graph, node)
        if tags:
            text.append("  " + "  ".join(tags), style="yellow" if node.id in graph.heads
                        else "dim")
        return text

    def reference(rev: str) -> Text:
        first = graph.nodes[rev].parents[0]
        return Text(f"{rev}  (merge point, drawn under {first})", style="dim")

    def blocked(rev: str, via: str | None) -> bool:
        node = graph.nodes[rev]
        return rev in drawn or (node.is_merge and via is not None and via != node.parents[0])

    # A line of history is drawn flat under its first revision; only branch points nest,
    # so the depth of the tree grows with the number of branches, not of revisions.
    work: list[tuple[Any, str, str | None]] = [(tree, b, None) for b in reversed(graph.bases)]
    while work:
        holder, rev, via = work.pop()
        if blocked(rev, via):
            holder.add(reference(rev))
            continue
        drawn.add(rev)
        line = holder.add(label(graph.nodes[rev]))
        current, current_tree = rev, line
        while True:
            kids = graph.nodes[current].children
            if len(kids) == 1:
                kid = kids[0]
                if blocked(kid, current):
                    line.add(reference(kid))
                    break
                drawn.add(kid)
                current, current_tree = kid, line.add(label(graph.nodes[kid]))
                continue
            for kid in reversed(kids):
                work.append((current_tree, kid, current))
            break

    if not graph.nodes:
        tree.add(Text("(no revisions)", style="dim"))
    buf = io.StringIO()
    console = Console(file=buf, width=width or 100, force_terminal=color, color_system=(
        "standard" if color else None), no_color=not color, highlight=False, soft_wrap=True)
    console.print(tree)
    return buf.getvalue()


def _summary(graph: RevisionGraph) -> str:
    n = len(graph.nodes)
    merges = sum(1 for node in graph.nodes.values() if node.is_merge)
    parts = [f"{n} revision{'s' if n != 1 else ''}",
             f"{len(graph.heads)} head{'s' if len(graph.heads) != 1 else ''}"]
    if merges:
        parts.append(f"{merges} merge point{'s' if merges != 1 else ''}")
    if graph.current:
        at = sorted(graph.current_revisions())
        parts.append("database at " + (", ".join(at) if at else "base (empty)"))
    return "Revision graph: " + ", ".join(parts)


# --------------------------------------------------------------------------- mermaid / dot


def _mermaid_text(text: str) -> str:
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;"))


def _mid(rev: str) -> str:
    return "r_" + "".join(ch if ch.isalnum() else "_" for ch in rev)


def render_mermaid(graph: RevisionGraph) -> str:
    """A Mermaid flowchart: base at the top, every arrow from a revision to one that needs
    it (down_revision solid, depends_on dashed and labelled "required by")."""
    lines = ["flowchart TD"]
    current = graph.current_revisions()
    for rev in graph.order():
        node = graph.nodes[rev]
        parts = [f"<b>{_mermaid_text(rev)}</b>"]
        if node.message:
            parts.append(_mermaid_text(node.message))
        if node.labels:
            parts.append(_mermaid_text("[" + ", ".join(node.labels) + "]"))
        if node.phase:
            parts.append(_mermaid_text(f"<{node.phase}>"))
        lines.append(f'    {_mid(rev)}["{"<br/>".join(parts)}"]')
    for rev in graph.order():
        node = graph.nodes[rev]
        for parent in node.parents:
            lines.append(f"    {_mid(parent)} --> {_mid(rev)}")
        for dep in node.depends_on:
            target = _resolve(graph, dep)
            if target is not None:
                lines.append(f"    {_mid(target)} -. required by .-> {_mid(rev)}")
    if graph.heads:
        lines.append("    class " + ",".join(_mid(h) for h in graph.heads) + " head")
    merges = [r for r in graph.order() if graph.nodes[r].is_merge]
    if merges:
        lines.append("    class " + ",".join(_mid(m) for m in merges) + " merge")
    if current:
        lines.append("    class " + ",".join(_mid(c) for c in sorted(current)) + " current")
    lines += [
        "    classDef head stroke-width:3px",
        "    classDef merge stroke-dasharray:4 2",
        "    classDef current fill:#d4f4dd,stroke:#2e7d32",
    ]
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_dot(graph: RevisionGraph) -> str:
    """A Graphviz digraph: base at the top, every arrow from a revision to one that needs
    it (down_revision solid, depends_on dashed and labelled "required by")."""
    lines = ["digraph revisions {", "    rankdir=TB;",
             '    node [shape=box, fontname="Helvetica"];']
    current = graph.current_revisions()
    for rev in graph.order():
        node = graph.nodes[rev]
        parts = [rev]
        if node.message:
            parts.append(node.message)
        if node.labels:
            parts.append("[" + ", ".join(node.labels) + "]")
        if node.phase:
            parts.append(f"<{node.phase}>")
        attrs = [f'label="{_dot_text(chr(10).join(parts))}"'.replace("\n", "\\n")]
        if rev in graph.heads:
            attrs.append("peripheries=2")
        if node.is_merge:
            attrs.append("style=dashed")
        if rev in current:
            attrs.append('style=filled, fillcolor="#d4f4dd"')
        lines.append(f'    "{_dot_text(rev)}" [{", ".join(attrs)}];')
    for rev in graph.order():
        node = graph.nodes[rev]
        for parent in node.parents:
            lines.append(f'    "{_dot_text(parent)}" -> "{_dot_text(rev)}";')
        for dep in node.depends_on:
            target = _resolve(graph, dep)
            if target is not None:
                lines.append(f'    "{_dot_text(target)}" -> "{_dot_text(rev)}" '
                             '[style=dashed, label="required by"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _resolve(graph: RevisionGraph, ref: str) -> str | None:
    """A depends_on entry (revision id, id prefix or branch label) as a revision id."""
    if ref in graph.nodes:
        return ref
    labelled = [n.id for n in graph.nodes.values() if ref in n.labels]
    if labelled:
        return labelled[0]
    prefixed = [i for i in graph.nodes if i.startswith(ref)]
    return prefixed[0] if len(prefixed) == 1 else None


def graph_json(graph: RevisionGraph) -> dict[str, Any]:
    return {
        "revisions": [
            {
                "revision": rev,
                "message": n.message,
                "path": graph.rel(n.path),
                "down_revisions": list(n.parents),
                "depends_on": list(n.depends_on),
                "branch_labels": list(n.labels),
                "branches": list(n.branches),
                "head": rev in graph.heads,
                "merge_point": n.is_merge,
                "branch_point": n.is_branch_point,
                "phase": n.phase,
                "current": rev in graph.current_revisions(),
            }
            for rev in graph.order()
            for n in [graph.nodes[rev]]
        ],
        "heads": graph.heads,
        "bases": graph.bases,
        "current": graph.current,
    }


# --------------------------------------------------------------------------- heads


@dataclass
class HeadGroup:
    """Heads that should be one line of history."""

    #: How the message names them: "" (all heads), "unexpected", "branch 'x' has".
    what: str
    heads: list[str]
    common_ancestors: list[str]
    since: dict[str, list[str]]
    #: Used in the merge message: a branch label, "all", "unexpected" or "stray".
    name: str = "all"
    #: The head that matches no expected_heads entry (``name == "stray"``).
    stray: str | None = None

    @property
    def merge_command(self) -> str | None:
        if len(self.heads) < 2:
            return None
        label = {"all": "heads", "unexpected": "unexpected heads", "stray": "heads"}.get(
            self.name, f"{self.name} heads")
        return f'alembic merge -m "merge {label}" {" ".join(self.heads)}'


@dataclass
class HeadsReport:
    heads: list[str]
    expected: dict[str, str]  # head -> the expected_heads entry it matches
    groups: list[HeadGroup]
    #: Branch labels of configured services that head a branch but are not declared.
    undeclared_services: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.groups


def _matches(graph: RevisionGraph, entry: str, head: str) -> bool:
    node = graph.nodes[head]
    return head == entry or head.startswith(entry) or entry in node.branches


def last_common_ancestors(graph: RevisionGraph, heads: list[str]) -> list[str]:
    """The most recent revisions every head descends from (several after criss-crosses)."""
    lines = [graph.ancestors(h) | {h} for h in heads]
    common = set.intersection(*lines) if lines else set()
    # Ancestors of a common ancestor are common too, so the latest ones are exactly those
    # without a child in the set (linear time, whatever the length of the history).
    return sorted(c for c in common if not any(k in common for k in graph.nodes[c].children))


def explain_heads(graph: RevisionGraph, expected: list[str],
                  service_labels: list[str] | None = None) -> HeadsReport:
    """Which heads are by design (``check.expected_heads``) and which need a merge.

    Without ``expected_heads`` more than one head is a problem. With it, each entry (a
    branch label or revision id) may match one head; a branch with several heads, and a
    head matching no entry, are problems.
    """
    matched: dict[str, str] = {}
    groups: list[HeadGroup] = []
    for entry in expected:
        hits = [h for h in graph.heads if _matches(graph, entry, h)]
        for h in hits:
            matched.setdefault(h, entry)
        if len(hits) > 1:
            groups.append(_group(graph, f"branch '{entry}' has", hits, entry))
    loose = [h for h in graph.heads if h not in matched]
    if not expected and len(loose) > 1:
        groups.append(_group(graph, "", loose, "all"))
    elif expected and len(loose) > 1:
        groups.append(_group(graph, "unexpected", loose, "unexpected"))
    elif expected and loose:
        head = loose[0]
        partner = _closest_head(graph, head)
        heads = [head] + ([partner] if partner else [])
        group = _group(graph, "unexpected", heads, "stray")
        group.stray = head
        groups.append(group)
    undeclared = sorted({
        label for h in graph.heads if h not in matched
        for label in graph.nodes[h].branches if label in (service_labels or [])
    })
    return HeadsReport(heads=graph.heads, expected=matched, groups=groups,
                       undeclared_services=undeclared)


def _closest_head(graph: RevisionGraph, head: str) -> str | None:
    """The other head sharing the most recent common ancestor with ``head``."""
    best: tuple[int, str] | None = None
    for other in graph.heads:
        if other == head:
            continue
        common = last_common_ancestors(graph, [head, other])
        if common:
            depth = max(len(graph.ancestors(c)) for c in common)
            if best is None or depth > best[0]:
                best = (depth, other)
    return best[1] if best else None


def _group(graph: RevisionGraph, what: str, heads: list[str], name: str) -> HeadGroup:
    common = last_common_ancestors(graph, heads) if len(heads) > 1 else []
    stop = set(common)
    for c in common:
        stop |= graph.ancestors(c)
    since = {h: _walk_back(graph, h, stop) for h in heads}
    return HeadGroup(what=what, heads=sorted(heads), common_ancestors=common, since=since,
                     name=name)


def _walk_back(graph: RevisionGraph, head: str, stop: set[str]) -> list[str]:
    out: list[str] = []
    queue = [head]
    seen: set[str] = set()
    while queue:
        cur = queue.pop(0)
        if cur in seen or cur in stop or cur not in graph.nodes:
            continue
        seen.add(cur)
        out.append(cur)
        queue.extend(graph.nodes[cur].parents)
    return out


def render_heads(graph: RevisionGraph, report: HeadsReport) -> str:
    """Plain text: each head, then each group that needs a merge, with its command."""
    lines: list[str] = []
    n = len(report.heads)
    lines.append(f"{n} head{'s' if n != 1 else ''}:")
    for head in report.heads:
        node = graph.nodes[head]
        branch = f" on branch {', '.join(node.branches)}" if node.branches else ""
        why = f" (expected: {report.expected[head]})" if head in report.expected else ""
        msg = f"  {node.message}" if node.message else ""
        lines.append(f"  {head}{branch}{why}{msg}  [{graph.rel(node.path)}]")
    if report.ok:
        if n > 1:
            lines.append("Every head is expected (tool.sluice.check.expected_heads); "
                         "nothing to merge.")
        return "\n".join(lines) + "\n"
    for group in report.groups:
        lines.append("")
        if group.name == "stray":
            split = ""
            others = [h for h in group.heads if h != group.stray]
            if others and group.common_ancestors:
                split = (f"; it split from {others[0]} after "
                         f"{', '.join(group.common_ancestors)}:")
            lines.append(f"{group.stray} is a head but matches no entry of "
                         f"[tool.sluice.check] expected_heads{split or '.'}")
        else:
            count = f"{len(group.heads)} heads"
            what = f"{group.what} {count}" if group.what.startswith("branch") else (
                f"{len(group.heads)} {group.what} heads" if group.what else count)
            if group.common_ancestors:
                lines.append(f"{what}; they split after {', '.join(group.common_ancestors)} "
                             "(last common ancestor):")
            else:
                lines.append(f"{what} with no common ancestor (separate bases):")
        for head in group.heads:
            lines.append(f"  {head}: {' <- '.join(group.since[head])}")
        if group.merge_command is None:
            lines.append("It shares no history with another head: if it starts a branch by "
                         "design, give its first revision a branch label and add the label to "
                         "expected_heads; otherwise point its down_revision at the head it "
                         "belongs after.")
            continue
        lines.append("`alembic upgrade head` refuses to run until they are joined. If the "
                     "changes belong in one line of history, merge them:")
        lines.append(f"  {group.merge_command}")
        lines.append("then review the merge revision (it runs nothing by itself), run "
                     "`sluice lock` if you keep a sluice.sum, and commit it.")
    lines.append("")
    if report.undeclared_services:
        listed = ", ".join(f'"{label}"' for label in report.undeclared_services)
        lines.append(f"These heads are service branches by design: declare them with "
                     f"[tool.sluice.check] expected_heads = [{listed}] instead of merging.")
    else:
        lines.append("Heads that exist by design (one branch per service, expand/contract) go "
                     "in [tool.sluice.check] expected_heads, as branch labels or revision ids.")
    return "\n".join(lines) + "\n"


def heads_json(graph: RevisionGraph, report: HeadsReport) -> dict[str, Any]:
    return {
        "heads": [
            {"revision": h, "branches": list(graph.nodes[h].branches),
             "path": graph.rel(graph.nodes[h].path), "expected": report.expected.get(h)}
            for h in report.heads
        ],
        "ok": report.ok,
        "merges": [
            {"branch": g.name, "heads": g.heads, "common_ancestors": g.common_ancestors,
             "since": g.since, "command": g.merge_command}
            for g in report.groups
        ],
    }
