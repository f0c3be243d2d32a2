"""The revision graph as data: each revision file's header read, Alembic's map built.

See :mod:`sluice.graph` for how revisions are read.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import to_tuple

from sluice.config import SluiceConfig, load_config
from sluice.core.alembic_compat import load_script, own_branch_labels, script_version_locations
from sluice.core.drivers import sync_url
from sluice.core.history import (
    History,
    RevisionHeader,
    build_map,
    read_header,
    script_revision_files,
)
from sluice.core.project import display_path, script_directory, section_config
from sluice.core.staged import staged_files
from sluice.core.urls import existing_database
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
    #: Revision files not in git's index, left out (``load_graph(staged=True)``).
    left_out: list[str] = field(default_factory=list)

    def ancestors(self, rev: str) -> set[str]:
        """Every revision reachable through down_revision from ``rev`` (not ``rev`` itself)."""
        if self.history is None or rev not in self.nodes:
            return set()
        return self.history.ancestors(rev, dependencies=False)

    def current_revisions(self) -> set[str]:
        """Revisions the database is at: the version table rows and the effective heads."""
        rows = {r for revs in self.current.values() for r in revs}
        return rows | {r for revs in self.effective_current().values() for r in revs}

    def effective_current(self) -> dict[str, list[str]]:
        """By version table, the revisions applied through ``depends_on`` that no row names
        and nothing applied builds on: Alembic's "effective head" (``alembic current``)."""
        out: dict[str, list[str]] = {}
        for table, rows in self.current.items():
            applied = set(rows)
            for rev in rows:
                if self.history is not None and rev in self.nodes:
                    applied |= self.history.ancestors(rev)  # down_revision and depends_on
            out[table] = sorted(
                rev for rev in applied - set(rows) if rev in self.nodes
                and not any(kid in applied for kid in self._descendants(rev)))
        return out

    def _descendants(self, rev: str) -> set[str]:
        """Every revision reachable through children (down_revision only) from ``rev``."""
        out: set[str] = set()
        stack = list(self.nodes[rev].children)
        while stack:
            cur = stack.pop()
            if cur not in out:
                out.add(cur)
                stack.extend(self.nodes[cur].children)
        return out

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
    from sluice.lint.render.stubs import StubFinder  # lazy: lint's render layer, only for stubs

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
               stub_modules: Sequence[str] = (), staged: bool = False) -> RevisionGraph:
    """The revision graph of the project configured by ``ini`` (section ``name``).

    Revision headers are read from the source; ``stub_modules`` stand in for packages a
    revision whose header is computed at import time needs. With ``url``,
    :attr:`RevisionGraph.current` holds the revisions the database is at, read from the
    environment's version table (``alembic_version``, or the service's own
    ``version_table`` for its section). ``staged``: only the revision files in git's
    index, what the next commit records (:mod:`sluice.core.staged`); the others are
    :attr:`RevisionGraph.left_out`, and a revision file whose working copy is not what is
    staged is a one-line :class:`SluiceError`.
    """
    cfg = section_config(ini, name)
    root = Path(ini).resolve().parent
    script_dir = script_directory(cfg)
    files = script_revision_files(script_dir)
    left_out: list[str] = []
    if staged:
        index = staged_files(root)
        left_out = sorted(display_path(p, root) for p in files if not index.keep(p))
        files = [p for p in files if index.keep(p)]
        index.refuse_unstaged(files, script_version_locations(script_dir), root,
                              command="sluice heads --staged", outcome="heads not counted")
    graph = build_graph([read_node(script_dir, p, root, stub_modules) for p in files], root)
    graph.left_out = left_out
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
    import sqlalchemy as sa  # lazy: a database only with --url
    from alembic.migration import MigrationContext  # lazy: a database only with --url

    existing_database(url, origin="--url")  # read-only: a missing SQLite file is not made
    try:  # a driver that is not installed
        engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
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
