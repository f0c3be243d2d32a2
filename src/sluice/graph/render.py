"""The revision graph drawn: a tree in the terminal, Mermaid, Graphviz dot, and JSON."""

from __future__ import annotations

import io
from typing import Any

from sluice.graph.load import RevisionGraph, RevisionNode

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
    effective = graph.effective_current()
    for table, revs in sorted(graph.current.items()):
        where = [] if table == "alembic_version" else [table]
        if node.id in revs:
            tags.append("<- database" + (f" ({where[0]})" if where else ""))
        elif node.id in effective.get(table, []):
            tags.append(f"<- database ({', '.join([*where, 'effective head'])})")
    return tags


def render_text(graph: RevisionGraph, *, width: int | None = 100, color: bool = False,
                title: str | None = None) -> str:
    """The revision tree, bases at the top; a merge is drawn under its first parent and
    referenced under the others."""
    from rich.console import Console  # lazy: rich only for the text tree
    from rich.text import Text  # lazy: rich only for the text tree
    from rich.tree import Tree  # lazy: rich only for the text tree

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
        rows = sorted({r for revs in graph.current.values() for r in revs})
        effective = sorted({r for revs in graph.effective_current().values() for r in revs}
                           - set(rows))
        at = rows + [f"{r} (effective head)" for r in effective]
        parts.append("database at " + (", ".join(at) if at else "base (empty)"))
    return "Revision graph: " + ", ".join(parts)


# --------------------------------------------------------------------------- mermaid / dot


def _mermaid_text(text: str) -> str:
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;"))


def _mid(rev: str) -> str:
    return "r_" + "".join(ch if ch.isalnum() else "_" for ch in rev)


def _label_parts(rev: str, node: RevisionNode) -> list[str]:
    """What a drawn node shows: id, message, branch labels, phase."""
    parts = [rev]
    if node.message:
        parts.append(node.message)
    if node.labels:
        parts.append("[" + ", ".join(node.labels) + "]")
    if node.phase:
        parts.append(f"<{node.phase}>")
    return parts


def _edges(graph: RevisionGraph) -> list[tuple[str, str, bool]]:
    """Every arrow, from a revision to one that needs it: (source, target, depends_on)."""
    edges: list[tuple[str, str, bool]] = []
    for rev in graph.order():
        node = graph.nodes[rev]
        edges += [(parent, rev, False) for parent in node.parents]
        for dep in node.depends_on:
            target = _resolve(graph, dep)
            if target is not None:
                edges.append((target, rev, True))
    return edges


def render_mermaid(graph: RevisionGraph) -> str:
    """A Mermaid flowchart: base at the top, every arrow from a revision to one that needs
    it (down_revision solid, depends_on dashed and labelled "required by")."""
    lines = ["flowchart TD"]
    current = graph.current_revisions()
    for rev in graph.order():
        first, *rest = (_mermaid_text(p) for p in _label_parts(rev, graph.nodes[rev]))
        parts = [f"<b>{first}</b>", *rest]
        lines.append(f'    {_mid(rev)}["{"<br/>".join(parts)}"]')
    for source, target, dependency in _edges(graph):
        arrow = "-. required by .->" if dependency else "-->"
        lines.append(f"    {_mid(source)} {arrow} {_mid(target)}")
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
        parts = _label_parts(rev, node)
        attrs = [f'label="{_dot_text(chr(10).join(parts))}"'.replace("\n", "\\n")]
        if rev in graph.heads:
            attrs.append("peripheries=2")
        if node.is_merge:
            attrs.append("style=dashed")
        if rev in current:
            attrs.append('style=filled, fillcolor="#d4f4dd"')
        lines.append(f'    "{_dot_text(rev)}" [{", ".join(attrs)}];')
    for source, target, dependency in _edges(graph):
        style = ' [style=dashed, label="required by"]' if dependency else ""
        lines.append(f'    "{_dot_text(source)}" -> "{_dot_text(target)}"{style};')
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
                "current": rev in current,
            }
            for current in [graph.current_revisions()]
            for rev in graph.order()
            for n in [graph.nodes[rev]]
        ],
        "heads": graph.heads,
        "bases": graph.bases,
        "current": graph.current,
        "effective_current": graph.effective_current(),
    }
