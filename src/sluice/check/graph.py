"""The revision graph check: every file imports, one head, no cycles, no missing parents.

Alembic's own :class:`~alembic.script.revision.RevisionMap` warns about duplicate ids and
crashes with a ``KeyError`` on a missing parent, so the structure is validated here first,
from the loaded scripts, with one line per problem naming the file; Alembic's map is built
afterwards (it is what the upgrade uses) and anything it still rejects is reported too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from alembic.util import to_tuple

from sluice.check.context import CheckContext
from sluice.check.model import CheckResult, finish
from sluice.check.revisions import DowngradeFact, adopt, describe_error, downgrade_fact
from sluice.core.alembic_compat import own_branch_labels
from sluice.core.findings import Finding, check_finding
from sluice.core.history import History, RevisionHeader, build_history, read_header
from sluice.errors import SluiceError

NAME = "graph"
TITLE = "revision graph"


@dataclass
class Node:
    id: str
    path: Path
    parents: tuple[str, ...]
    depends_on: tuple[str, ...]
    labels: tuple[str, ...]


@dataclass
class Graph:
    """The revision graph as plain data, built from the loaded scripts."""

    nodes: dict[str, Node] = field(default_factory=dict)
    duplicates: list[tuple[Node, Node]] = field(default_factory=list)
    static: dict[Path, RevisionHeader] = field(default_factory=dict)
    downgrades: dict[Path, DowngradeFact] = field(default_factory=dict)
    #: The imported module of each loaded revision file.
    modules: dict[Path, Any] = field(default_factory=dict)
    _history: History | None = field(default=None, repr=False)

    def info(self, path: Path) -> RevisionHeader:
        if path not in self.static:
            self.static[path] = read_header(path)
        return self.static[path]

    def downgrade(self, path: Path) -> DowngradeFact:
        if path not in self.downgrades:
            self.downgrades[path] = downgrade_fact(path, self.modules.get(path))
        return self.downgrades[path]

    def history(self) -> History | None:
        """Alembic's map of the nodes (unknown parents left out); None with a cycle."""
        if self._history is None:
            try:
                self._history = build_history([
                    RevisionHeader(path=n.path, revision=n.id, down_revisions=n.parents,
                                   depends_on=n.depends_on, branch_labels=n.labels)
                    for n in self.nodes.values()], strict=False)
            except SluiceError:
                return None
        return self._history

    def heads(self) -> list[str]:
        history = self.history()
        return sorted(history.heads()) if history is not None else []

    def ancestors(self, rev: str) -> set[str]:
        history = self.history()
        return history.ancestors(rev, dependencies=False) if history is not None else set()

    def labels(self, rev: str) -> set[str]:
        """Branch labels of ``rev``: its own and those of every ancestor (as Alembic does)."""
        history = self.history()
        return history.branches(rev) if history is not None else set(self.nodes[rev].labels)

    def cycles(self) -> list[list[str]]:
        """Every cycle (through down_revision and depends_on), as a list of ids."""
        edges = {i: [p for p in (*n.parents, *n.depends_on) if p in self.nodes]
                 for i, n in self.nodes.items()}
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        on_stack: set[str] = set()
        stack: list[str] = []
        components: list[list[str]] = []
        counter = 0
        for start in sorted(edges):
            if start in index:
                continue
            work: list[tuple[str, int]] = [(start, 0)]
            while work:
                node, i = work.pop()
                if i == 0:
                    index[node] = low[node] = counter
                    counter += 1
                    stack.append(node)
                    on_stack.add(node)
                children = edges[node]
                if i < len(children):
                    work.append((node, i + 1))
                    child = children[i]
                    if child not in index:
                        work.append((child, 0))
                    elif child in on_stack:
                        low[node] = min(low[node], index[child])
                    continue
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    comp: list[str] = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        comp.append(top)
                        if top == node:
                            break
                    if len(comp) > 1:
                        components.append(comp)
        cycles = []
        for comp in components:
            members = set(comp)
            first = min(comp)
            path = [first]
            cur = first
            while True:
                nxt = next(p for p in edges[cur] if p in members)
                if nxt in path:
                    path = path[path.index(nxt):] + [nxt]
                    break
                path.append(nxt)
                cur = nxt
            cycles.append(path)
        return cycles


def build_graph(ctx: CheckContext) -> Graph:
    history = ctx.history()
    cached = getattr(history, "_sluice_graph", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    graph = Graph()
    for script in history.scripts:
        node = Node(
            id=script.revision,
            path=Path(script.path).resolve(),
            parents=tuple(to_tuple(script.down_revision, default=())),
            depends_on=tuple(to_tuple(script.dependencies, default=())),
            labels=own_branch_labels(script),
        )
        graph.modules[node.path] = script.module
        if node.id in graph.nodes:
            graph.duplicates.append((graph.nodes[node.id], node))
            continue
        graph.nodes[node.id] = node
    # Files that failed to load still take their place in the graph (ids read from the
    # source), so their children are not reported as orphans on top of the load error.
    for err in history.errors:
        info = graph.info(err.path.resolve())
        if info.revision and info.revision not in graph.nodes:
            graph.nodes[info.revision] = Node(id=info.revision, path=err.path.resolve(),
                                              parents=info.down_revisions, depends_on=(),
                                              labels=())
    history._sluice_graph = graph  # type: ignore[attr-defined]
    return graph


def _problem(ctx: CheckContext | _Rel, kind: str, node: Node | None, message: str, fix: str,
             line: int | None = None) -> Finding:
    return check_finding(NAME, kind, message, fix, path=ctx.rel(node.path) if node else None,
                   line=line, revision=node.id if node else None)


def structural_problems(ctx: CheckContext) -> list[Finding]:
    """Duplicate ids, missing parents, cycles and conflicting branch labels."""
    return graph_problems(build_graph(ctx), ctx.rel, ctx.given.sluice("lock"))


def graph_problems(graph: Graph, rel: Callable[[Path], str], lock: str) -> list[Finding]:
    """:func:`structural_problems` of any graph (``sluice lock`` builds one from source);
    ``rel`` shows a path relative to the project; ``lock``: the ``sluice lock`` command
    to run afterwards, with the options of the command that found them, in backticks."""
    ctx = _Rel(rel)
    out: list[Finding] = []
    for first, second in graph.duplicates:
        out.append(_problem(
            ctx, "duplicate-revision", second,
            f"revision id '{second.id}' is also declared by {ctx.rel(first.path)}",
            "Give one of the two files a new id (copy one from a fresh `alembic revision`), "
            f"point the down_revision of its children at the new id, then run {lock}.",
            graph.info(second.path).revision_line,
        ))
    labels: dict[str, Node] = {}
    for node in graph.nodes.values():
        for parent in node.parents:
            if parent not in graph.nodes:
                # not this revision, nor a head on top of it: down_revision cannot be those
                heads = ", ".join(h for h in graph.heads()
                                  if h != node.id and node.id not in graph.ancestors(h)
                                  ) or "none"
                out.append(_problem(
                    ctx, "missing-parent", node,
                    f"down_revision '{parent}' of revision {node.id} does not exist "
                    "(no revision file declares it)",
                    "Point down_revision at the revision this one was written on top of "
                    f"(current heads: {heads}), or restore the missing file from version "
                    f"control; then run {lock}.",
                    graph.info(node.path).down_revision_line,
                ))
        for label in node.labels:
            if label in labels:
                other = labels[label]
                out.append(_problem(
                    ctx, "duplicate-branch-label", node,
                    f"branch label '{label}' of revision {node.id} is already declared by "
                    f"revision {other.id} ({ctx.rel(other.path)})",
                    "A branch label names one branch and sits on its first revision only; "
                    "descendants inherit it. Remove it from this revision.",
                    graph.info(node.path).branch_labels_line,
                ))
            elif label in graph.nodes:
                out.append(_problem(
                    ctx, "branch-label-is-revision", node,
                    f"branch label '{label}' of revision {node.id} is also a revision id",
                    "Rename the branch label; Alembic could not tell the two apart.",
                    graph.info(node.path).branch_labels_line,
                ))
            else:
                labels[label] = node
    known = set(graph.nodes) | set(labels)
    for node in graph.nodes.values():
        for dep in node.depends_on:
            if dep not in known:
                out.append(_problem(
                    ctx, "missing-dependency", node,
                    f"depends_on '{dep}' of revision {node.id} names no revision or branch label",
                    "Fix the id (full revision ids or branch labels only), or remove it.",
                ))
    for cycle in graph.cycles():
        start = graph.nodes[cycle[0]]
        chain = " -> ".join(cycle)
        files = ", ".join(ctx.rel(graph.nodes[r].path) for r in cycle[:-1])
        out.append(_problem(
            ctx, "cycle", start,
            f"revision cycle {chain} (each names the next as its down_revision or "
            f"depends_on; files: {files})",
            "One of these down_revision values is wrong: the oldest revision of the cycle "
            "must point at a revision outside it. `git log -p` on these files shows which "
            f"one changed; fix it, then run {lock}.",
            graph.info(start.path).down_revision_line,
        ))
    return out


@dataclass
class _Rel:
    """What :func:`_problem` needs of a CheckContext: ``rel``."""

    rel: Callable[[Path], str]


def _matches(entry: str, head: str, graph: Graph) -> bool:
    return head == entry or head.startswith(entry) or entry in graph.labels(head)


def head_problems(ctx: CheckContext, graph: Graph) -> list[Finding]:
    heads = graph.heads()
    expected = ctx.config.check.expected_heads
    source = str(ctx.config.source) if ctx.config.source else "[tool.sluice]"
    key, setting = ctx.config.key_path("check.expected_heads"), _expected_heads(ctx)
    out: list[Finding] = []
    all_labels = {lab for n in graph.nodes.values() for lab in n.labels}
    if ctx.section != "alembic":  # entries naming nothing here are another section's heads
        expected = [e for e in expected
                    if e in all_labels or any(i.startswith(e) for i in graph.nodes)]
    for entry in expected:
        if entry not in all_labels and not any(i.startswith(entry) for i in graph.nodes):
            out.append(check_finding(
                NAME, "unknown-expected-head",
                f"{key}: '{entry}' names no revision or branch label",
                "List branch labels (or revision ids) of the heads that exist by design.",
                path=source, line=ctx.config.key_line("check.expected_heads"),
            ))
    if not expected:
        if len(heads) > 1:
            out.append(_multiple_heads(ctx, graph, heads))
        return out
    for entry in expected:
        matched = [h for h in heads if _matches(entry, h, graph)]
        if len(matched) > 1:
            problem = _multiple_heads(ctx, graph, matched)
            out.append(replace(problem, message=f"branch '{entry}': {problem.message}"))
    unexpected = [h for h in heads if not any(_matches(e, h, graph) for e in expected)]
    for head in unexpected:
        node = graph.nodes[head]
        listed = ", ".join(expected)
        out.append(_problem(
            ctx, "unexpected-head", node,
            f"revision {head} is a head, but not one of the expected heads ({listed})",
            "If it belongs to an existing branch, re-point its down_revision at that branch's "
            "head; if it starts a branch by design, give it a branch label and add the label "
            f"to {setting}. Then run {ctx.given.sluice('lock')}.",
            graph.info(node.path).down_revision_line,
        ))
    return out


def _expected_heads(ctx: CheckContext) -> str:
    """``[check] expected_heads`` as the project's configuration file spells it."""
    return f"{ctx.config.table('check')} expected_heads"


def _multiple_heads(ctx: CheckContext, graph: Graph, heads: list[str]) -> Finding:
    nodes = [graph.nodes[h] for h in heads]
    common = set.intersection(*(graph.ancestors(h) | {h} for h in heads))
    # the most recent common ancestor: one that is no ancestor of another common one
    latest = sorted(c for c in common if not any(c in graph.ancestors(o) for o in common))
    listed = ", ".join(f"{n.id} ({ctx.rel(n.path)})" for n in nodes)
    if latest:
        what = f"{len(heads)} heads: {listed}; they were written on top of {latest[0]} in parallel"
    else:
        what = f"{len(heads)} heads with no common ancestor: {listed}"
    newest = max(nodes, key=lambda n: (os.path.getmtime(n.path) if n.path.exists() else 0, n.id))
    others = [n.id for n in nodes if n is not newest]
    fix = (
        "`alembic upgrade head` refuses to run with more than one head. Either run them in "
        f"sequence: change down_revision of {newest.id} to {others[0]} (the other head), "
        "or keep both and add a merge revision of exactly these heads: "
        f"{ctx.given.alembic('merge', '-m', 'merge heads', *sorted(heads))}. "
        f"Then run {ctx.given.sluice('lock')}. Heads that exist by design (expand/contract, "
        f"one tree per service) go in {_expected_heads(ctx)}."
    )
    return _problem(ctx, "multiple-heads", newest, what, fix,
                    graph.info(newest.path).down_revision_line)


def downgrade_problems(ctx: CheckContext, graph: Graph) -> tuple[list[Finding], list[str]]:
    policy = ctx.config.downgrades
    problems: list[Finding] = []
    notes: list[str] = []
    if policy == "none":
        return problems, notes
    missing: list[str] = []
    irreversible: list[str] = []
    for node in graph.nodes.values():
        fact = graph.downgrade(node.path)
        if fact.kind == "raises":
            irreversible.append(node.id)
            continue
        # "empty": code runs that the static layer cannot see operations in (a helper
        # from the application, say); the round trip finds out whether it works.
        if fact.kind not in ("pass", "missing") or not fact.upgrade_ops:
            continue
        if fact.kind == "pass" and fact.data_only:
            continue  # only data changed: nothing in the schema to undo (as lint's SL601)
        if policy == "optional":
            missing.append(node.id)
            continue
        what = "has no downgrade() function" if fact.kind == "missing" else \
            "downgrade() does nothing (pass or an empty body)"
        problems.append(_problem(
            ctx, "no-downgrade", node,
            f"revision {node.id}: {what}, although upgrade() runs {fact.upgrade_ops} "
            "operation(s); `alembic downgrade` would report success and leave the schema "
            "changed",
            "Write the reverse of upgrade() in downgrade(), in reverse order. If the change "
            "cannot be undone on purpose (dropped data is gone), say so explicitly: "
            "`raise NotImplementedError(\"irreversible: <why>\")`; that passes, and the round "
            "trip skips it. A project that never writes downgrades sets "
            f"downgrades = \"none\" in {ctx.config.table()}.",
            fact.line,
        ))
    if irreversible:
        notes.append(f"irreversible on purpose (downgrade raises): {', '.join(sorted(irreversible))}")
    if missing:
        notes.append(f"{len(missing)} revision(s) without a working downgrade "
                     f"(downgrades = 'optional'): {', '.join(sorted(missing))}")
    return problems, notes


def check_graph(ctx: CheckContext) -> CheckResult:
    """Run the check; its rule documents it (:mod:`sluice.rules.check.graph`)."""
    history = ctx.history()
    problems: list[Finding] = []
    for err in history.errors:
        fix = "Fix the error in the file; Alembic cannot load the history until it imports."
        if err.message.startswith(("ModuleNotFoundError", "ImportError")):
            fix = ("Revisions are imported in your project's environment: install the missing "
                   "package, or make your code importable (prepend_sys_path in alembic.ini).")
        problems.append(check_finding(NAME, err.kind, f"cannot load the revision: {err.message}"
                                if err.kind == "import-error" else err.message,
                                fix, path=ctx.rel(err.path), line=err.line))
    graph = build_graph(ctx)
    structural = structural_problems(ctx)
    problems += structural
    notes: list[str] = []
    if not structural:
        problems += head_problems(ctx, graph)
        if not history.errors:
            blocker = graph_blocker(ctx)
            if blocker and blocker.startswith("Alembic rejects"):
                problems.append(check_finding(NAME, "alembic-error", blocker,
                                        "Fix the revision graph so that Alembic can load it."))
    down, down_notes = downgrade_problems(ctx, graph)
    problems += down
    notes += down_notes
    notes += [f"{ctx.ini.name} section [{s}] is another Alembic environment, not read here: "
              f"{ctx.given.in_section(s).sluice('check')} checks it"
              for s in ctx.other_sections()]
    heads = graph.heads() if not structural else []
    summary = f"{len(graph.nodes)} revision{'s' if len(graph.nodes) != 1 else ''}"
    if heads:
        summary += f", {len(heads)} head{'s' if len(heads) != 1 else ''} ({', '.join(heads)})"
    result = finish(NAME, TITLE, problems, summary, notes=notes,
                    data={"revisions": len(graph.nodes), "heads": heads})
    if result.status == "fail" and graph_blocker(ctx) is not None:
        # a gate fails closed: a history Alembic cannot load is unusable input (exit 2),
        # not a finding; the problems above still say what is broken
        result.status = "error"
        result.summary += "; the history does not load"
    return result


__all__ = ["check_graph", "build_graph", "structural_problems", "describe_error"]


def graph_blocker(ctx: CheckContext) -> str | None:
    """Why migrations cannot run (the history does not load cleanly), or None."""
    history = ctx.history()
    if history.errors:
        first = history.errors[0]
        where = ctx.rel(first.path) + (f":{first.line}" if first.line else "")
        return f"{where}: {first.message}"
    problems = structural_problems(ctx)
    if problems:
        p = problems[0]
        return f"{p.where + ': ' if p.where else ''}{p.message}"
    if not history.adopted:
        adopt(history)
        try:
            history.script.revision_map.heads  # noqa: B018 - builds and validates the map
        except Exception as exc:
            history.adopted = False
            return f"Alembic rejects the revision graph: {describe_error(exc)}"
    return None


_UNLOADABLE = "graph-does-not-load"


def graph_blocked(ctx: CheckContext, name: str, title: str) -> CheckResult | None:
    """The result of a database check that cannot run because the history does not load
    (None when it loads): skipped when the graph check ran and reported it, else an error
    of its own, so that ``--only upgrade`` on a broken history is exit 2, never a pass."""
    blocker = graph_blocker(ctx)
    if blocker is None:
        return None
    summary = f"the revision graph does not load ({blocker})"
    if NAME in ctx.results or any(p.name == _UNLOADABLE for r in ctx.results.values()
                                  for p in r.problems):
        return CheckResult(name, title, "skip", summary)  # an earlier check said it
    return CheckResult(name, title, "error", "the revision graph does not load",
                       problems=[check_finding(
                           name, _UNLOADABLE, summary,
                           f"{ctx.given.sluice('check', '--only', 'graph')} lists every "
                           "problem.")])
