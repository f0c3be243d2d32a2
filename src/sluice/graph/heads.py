"""Multiple heads explained: where they split, what each adds, and the merge command."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sluice.core.suggest import Invocation
from sluice.graph.load import RevisionGraph


@dataclass
class HeadGroup:
    """Heads that should be one line of history."""

    #: How the message names them: "" (all heads), "unexpected", "branch 'x' has".
    what: str
    heads: list[str]
    common_ancestors: list[str]
    since: dict[str, list[str]]
    #: Used in the merge message: a branch label, "all", "unexpected" or "stray";
    #: "separate": one head on a base of its own, next to heads that need a merge.
    name: str = "all"
    #: The head that matches no expected_heads entry (``name == "stray"``), or that is on
    #: a separate base (``name == "separate"``).
    stray: str | None = None

    @property
    def merge_command(self) -> str | None:
        return self.merge_with(None)

    def merge_with(self, given: Invocation | None) -> str | None:
        """The ``alembic merge`` that joins these heads, with the options of ``given``
        (``-c``, ``-n``, ``-x``: the section and project the heads were read from); None
        for one head."""
        if len(self.heads) < 2:
            return None
        label = {"all": "heads", "unexpected": "unexpected heads", "stray": "heads"}.get(
            self.name, f"{self.name} heads")
        if given is not None:
            return given.alembic_line("merge", "-m", f"merge {label}", *self.heads)
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
            if any(entry in graph.nodes[h].branches for h in hits):
                groups.append(_group(graph, f"branch '{entry}' has", hits, entry))
            else:  # a revision id prefix: the heads' branches, if any, are others
                groups.append(_group(graph, f"entry '{entry}' of {{setting}} matches", hits,
                                     "all"))
    loose = [h for h in graph.heads if h not in matched]
    if len(loose) > 1:
        groups += _by_base(graph, loose, "unexpected" if expected else "")
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


def _by_base(graph: RevisionGraph, heads: list[str], what: str) -> list[HeadGroup]:
    """The heads grouped by shared history: one group per set of heads that split from a
    common ancestor, and one per head on a base of its own next to them. When no two heads
    share history, one group of them all (a merge of separate bases)."""
    name = "unexpected" if what else "all"
    lines = {h: graph.ancestors(h) | {h} for h in heads}
    parts: list[list[str]] = []
    for head in heads:  # join every part sharing a revision with this head
        joined = [p for p in parts if any(lines[head] & lines[o] for o in p)]
        parts = [p for p in parts if p not in joined] + [
            [o for p in joined for o in p] + [head]]
    if all(len(p) == 1 for p in parts):
        return [_group(graph, what, heads, name)]
    groups = [_group(graph, what, p, name) for p in parts if len(p) > 1]
    for part in parts:
        if len(part) == 1:
            group = _group(graph, what, part, "separate")
            group.stray = part[0]
            groups.append(group)
    return groups


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


def render_heads(graph: RevisionGraph, report: HeadsReport, *,
                 setting: str = "[tool.sluice.check] expected_heads",
                 given: Invocation | None = None) -> str:
    """Plain text: each head, then each group that needs a merge, with its command.
    ``setting``: ``check.expected_heads`` as the configuration file spells it
    (``[check] expected_heads`` in sluice.toml); ``given``: the options of the command
    that read the graph, repeated in the commands suggested."""
    if not graph.nodes:
        return _no_revisions(graph, given)
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
            lines.append(f"Every head is expected ({setting}); nothing to merge.")
        return "\n".join(lines) + "\n"
    for group in report.groups:
        lines.append("")
        if group.name == "separate":
            head = group.stray or group.heads[0]
            node = graph.nodes[head]
            bases = sorted(r for r in group.since[head] if not graph.nodes[r].parents)
            branch = f" (branch {', '.join(node.branches)})" if node.branches else ""
            lines.append(f"{head}{branch} is on a separate base ({', '.join(bases)}): it "
                         "shares no history with the other heads:")
            lines.append(f"  {head}: {' <- '.join(group.since[head])}")
            if node.branches:
                listed = ", ".join(f'"{b}"' for b in node.branches)
                merge_one = (given.alembic_line("merge", "-m", "merge heads", head)
                             if given is not None else f'alembic merge -m "merge heads" {head}')
                lines.append(f"If this line of history is separate by design, declare it: "
                             f"add {listed} to {setting}; otherwise merge it into the "
                             f"line it belongs to: {merge_one} <that line's head>.")
            else:
                lines.append("If it starts a line of history by design, give its first "
                             f"revision a branch label and add the label to {setting}; "
                             "otherwise point its down_revision at the head it belongs after.")
            continue
        if group.name == "stray":
            split = ""
            others = [h for h in group.heads if h != group.stray]
            if others and group.common_ancestors:
                split = (f"; it split from {others[0]} after "
                         f"{', '.join(group.common_ancestors)}:")
            lines.append(f"{group.stray} is a head but matches no entry of "
                         f"{setting}{split or '.'}")
        else:
            count = f"{len(group.heads)} heads"
            what = f"{group.what} {count}" if group.what.startswith(("branch", "entry")) \
                else (f"{len(group.heads)} {group.what} heads" if group.what else count)
            what = what.replace("{setting}", setting)
            if group.common_ancestors:
                lines.append(f"{what}; they split after {', '.join(group.common_ancestors)} "
                             "(last common ancestor):")
            else:
                lines.append(f"{what} with no common ancestor (separate bases):")
        for head in group.heads:
            lines.append(f"  {head}: {' <- '.join(group.since[head])}")
        merge = group.merge_with(given)
        if merge is None:
            labels = graph.nodes[group.heads[0]].branches
            if labels:
                listed = ", ".join(f'"{b}"' for b in labels)
                lines.append("It shares no history with another head: if its branch is "
                             f"separate by design, add {listed} to {setting}; otherwise "
                             "point its down_revision at the head it belongs after.")
            else:
                lines.append("It shares no history with another head: if it starts a "
                             "branch by design, give its first revision a branch label and "
                             f"add the label to {setting}; otherwise point its down_revision "
                             "at the head it belongs after.")
            continue
        lines.append("`alembic upgrade head` refuses to run until they are joined. If the "
                     "changes belong in one line of history, merge them:")
        lines.append(f"  {merge}")
        lock = given.sluice("lock") if given is not None else "`sluice lock`"
        lines.append("then review the merge revision (it runs nothing by itself), run "
                     f"{lock} if you keep a sluice.sum, and commit it.")
    lines.append("")
    if report.undeclared_services:
        listed = ", ".join(f'"{label}"' for label in report.undeclared_services)
        lines.append(f"These heads are service branches by design: declare them with "
                     f"{setting} = [{listed}] instead of merging.")
    else:
        lines.append("Heads that exist by design (one branch per service, expand/contract) go "
                     f"in {setting}, as branch labels or revision ids.")
    return "\n".join(lines) + "\n"


def _no_revisions(graph: RevisionGraph, given: Invocation | None) -> str:
    """What a graph without revisions says: no heads, and why."""
    if graph.left_out:  # --staged: revision files exist, none in git's index
        return ("No heads: no revision file is in git's index yet (the ones left out are "
                "listed above), so the commit records no revisions; nothing to merge.\n")
    create = (given.alembic_line("revision", "-m", "first revision") if given is not None
              else 'alembic revision -m "first revision"')
    return ("No heads: the project has no revisions yet (its version locations hold no "
            f"revision file); nothing to merge. Create the first with: {create}\n")


def heads_json(graph: RevisionGraph, report: HeadsReport,
               given: Invocation | None = None) -> dict[str, Any]:
    """The report as JSON; each merge's ``command`` with the options of ``given``."""
    return {
        "heads": [
            {"revision": h, "branches": list(graph.nodes[h].branches),
             "path": graph.rel(graph.nodes[h].path), "expected": report.expected.get(h)}
            for h in report.heads
        ],
        "ok": report.ok,
        "merges": [
            {"branch": g.name, "heads": g.heads, "common_ancestors": g.common_ancestors,
             "since": g.since, "command": g.merge_with(given)}
            for g in report.groups
        ],
    }
