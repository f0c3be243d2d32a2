"""Which revision files a lint reads and which of them it analyses.

The project layout from alembic.ini, one :class:`Node` per revision file (graph header
read from the source, never by importing it), and the scope: version locations or branch
labels (``trees``), files git sees as changed, and the reviewed history that ``sluice.sum``
records (the baseline). Revision specs are resolved by :mod:`sluice.core.history`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sluice.config import SluiceConfig
from sluice.core.history import History, RevisionHeader, build_history, header_from_source
from sluice.core.ini import IniConfig
from sluice.core.project import alembic_config, layout_config, read_locations
from sluice.core.source import decode_source
from sluice.core.suggest import Invocation
from sluice.core.sumfile import file_digest, parse_sum, sum_path
from sluice.errors import SluiceError
from sluice.lint.cache import LintCache, content_hash
from sluice.lint.dialects import env_py_url, url_dialect, x_url
from sluice.lint.static import StaticResult, analyze_source

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import Any

    from sluice.core.project import AnyConfig

__all__ = [
    "Layout",
    "Node",
    "changed_files",
    "read_layout",
    "read_node",
    "reviewed_files",
    "select_revisions",
]

_DEFAULT_BASES = ("origin/main", "main", "origin/master", "master")


@dataclass
class Layout:
    """Where an Alembic project keeps its revisions, read from alembic.ini."""

    ini_path: Path
    root: Path
    script_location: Path
    version_locations: list[Path]
    recursive: bool
    sys_path: list[str]
    #: Dialect of ``sqlalchemy.url`` when it names one Sluice lints.
    url_dialect: str | None
    #: What alembic.ini was read with (:func:`sluice.core.project.layout_config`).
    ini_cfg: AnyConfig
    #: The URL Alembic would use (``-x url=``, else ``sqlalchemy.url``) and where it is set.
    url: str | None = None
    url_origin: str = "sqlalchemy.url"
    x_args: tuple[str, ...] = ()
    _prefixes: list[tuple[str, Path]] | None = field(default=None, repr=False, compare=False)

    def location_prefixes(self) -> list[tuple[str, Path]]:
        """Each version location with the prefix of the paths of its files."""
        if self._prefixes is None:
            self._prefixes = [(str(loc).rstrip(os.sep) + os.sep, loc)
                              for loc in self.version_locations]
        return self._prefixes

    @property
    def section(self) -> str:
        """The alembic.ini section read (``-n``, as ``alembic -n``)."""
        return self.ini_cfg.config_ini_section

    @property
    def alembic_cfg(self) -> Any:
        """Alembic's own ``Config`` (rendering needs it), built on first use: reading the
        layout does not import Alembic."""
        if isinstance(self.ini_cfg, IniConfig):
            self.ini_cfg = alembic_config(self.ini_path, x_args=self.x_args,
                                          ini_section=self.ini_cfg.config_ini_section)
        return self.ini_cfg


def read_layout(ini_path: str | Path, *, x_args: Iterable[str] = (),
                ini_section: str = "alembic") -> Layout:
    """Read section ``ini_section`` of alembic.ini the way Alembic does; one-line
    :class:`SluiceError` when broken or when the section does not exist."""
    ini = Path(ini_path)
    cfg = layout_config(ini, x_args=list(x_args), ini_section=ini_section)
    found = read_locations(cfg, ini)
    given = x_url(x_args)
    url, origin = found.url, "-x url" if given else "sqlalchemy.url"
    if not given:
        from_env, env_url, env_name = env_py_url(found.script_location, os.environ)
        if from_env:  # env.py replaces sqlalchemy.url with the variable's value
            url, origin = env_url, f"{env_name} read by env.py"
    return Layout(
        ini_path=ini,
        root=ini.resolve().parent,
        script_location=found.script_location,
        version_locations=found.version_locations,
        recursive=found.recursive,
        sys_path=found.sys_path,
        url_dialect=url_dialect(given or url),
        ini_cfg=cfg,
        url=given or url,
        url_origin=origin,
        x_args=tuple(x_args),
    )


# --------------------------------------------------------------------------- graph


@dataclass
class Node:
    """One revision file of the graph: where it is, its content and what it declares."""

    #: The file's real path (:attr:`path` as a ``Path``, built when first asked for).
    file: str
    #: File content (None until needed when the cache vouched for it).
    raw: bytes | None
    digest: str
    stamp: list[int] = field(default_factory=list)
    revision: str | None = None
    down: tuple[str, ...] = ()
    down_raw: str | tuple[str, ...] | None = None
    labels: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()
    static: StaticResult | None = None
    location: Path | None = None
    _text: str | None = None
    _decoded: bool = False
    _path: Path | None = None

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = Path(self.file)
        return self._path

    @property
    def content(self) -> bytes:
        if self.raw is None:
            with open(self.file, "rb") as fh:
                self.raw = fh.read()
        return self.raw

    def text(self) -> str | None:
        """The content decoded (None: not UTF-8), decoded once."""
        if not self._decoded:
            self._text = decode_source(self.content)
            self._decoded = True
        return self._text


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None or value == ():  # most revisions: no labels, no dependencies
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return ()


def set_graph(node: Node, revision: Any, down: Any, labels: Any, depends: Any) -> None:
    node.revision = revision if isinstance(revision, str) else None
    if isinstance(down, str):  # most revisions: one parent
        node.down, node.down_raw = (down,), down
    else:
        node.down = _as_tuple(down)
        node.down_raw = (None if down is None
                         else tuple(str(v) for v in down) if isinstance(down, (list, tuple))
                         else None)
    if labels is not None:
        node.labels = _as_tuple(labels)
    if depends is not None:
        node.depends = _as_tuple(depends)


def static_result(node: Node) -> StaticResult:
    if node.static is None:
        source = node.text()
        if source is None:
            node.static = StaticResult(path=node.file,
                                       error=f"{node.path}:1: syntax error: not UTF-8")
        else:
            node.static = analyze_source(source, node.file)
    return node.static


# --------------------------------------------------------------------------- git


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    from sluice.core.staged import run_git  # lazy: only --changed runs git (lint start-up)

    return run_git(args, cwd, "--changed")


def changed_files(folder: str | Path, base: str | None = None) -> set[Path]:
    """Files git sees as changed against ``base``: committed since the merge base with it,
    staged, unstaged and untracked. ``base`` defaults to origin/main, then main (then
    origin/master, master)."""
    cwd = Path(folder).resolve()
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise SluiceError(f"--changed needs a git repository: {cwd} is not inside one")
    toplevel = Path(top.stdout.strip())
    candidates = [base] if base else list(_DEFAULT_BASES)
    ref = None
    for cand in candidates:
        if _git(["rev-parse", "--verify", "--quiet", f"{cand}^{{commit}}"], cwd).returncode == 0:
            ref = cand
            break
    if ref is None:
        if base:
            raise SluiceError(f"--base {base}: no such git branch, tag or commit")
        raise SluiceError("--changed: no base branch found (tried "
                          + ", ".join(_DEFAULT_BASES) + "); pass --base REF")
    mb = _git(["merge-base", ref, "HEAD"], cwd)
    start = mb.stdout.strip() if mb.returncode == 0 and mb.stdout.strip() else ref
    diff = _git(["diff", "--name-only", "-z", start, "--"], cwd)
    if diff.returncode != 0:
        raise SluiceError(f"--changed: git diff against {ref} failed: "
                          f"{' '.join(diff.stderr.split())}")
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], cwd)
    names = [n for n in diff.stdout.split("\0") if n]
    # ls-files prints paths relative to cwd, diff relative to the top level
    out = {(toplevel / n).resolve() for n in names}
    out |= {(cwd / n).resolve() for n in untracked.stdout.split("\0") if n}
    return out


def reviewed_files(layout: Layout, config: SluiceConfig, *,
                   given: Invocation | None = None) -> set[str] | None:
    """Real paths of the revision files ``sluice.sum`` (the section's own, see
    :func:`~sluice.core.sumfile.section_sum_file`) records with the checksum they still
    have (reviewed history); None when the project has no sum file. ``given``: the
    options of the command reading it, repeated by the commands its error names (default:
    ``-n`` of the layout's section alone)."""
    path = sum_path(layout.root, config.check.sum_file, layout.section)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SluiceError(f"{path}: cannot read: {exc}") from None
    state = parse_sum(text)
    broken = ((state.conflict_line, "unresolved merge conflict") if state.conflict_line
              else state.errors[0] if state.errors else None)
    if broken is not None:  # which files it vouches for is unknown: fail closed
        given = given or Invocation(ini_section=layout.section)
        raise SluiceError(
            f"{display_path(path, layout.root)}:{broken[0]}: {broken[1]}; Sluice cannot tell "
            "reviewed history from new revisions",
            hint=f"{given.sluice('check', '--only', 'checksums')} says how to resolve it, "
                 f"then {given.sluice('lock')} rewrites the file "
                 f"({given.sluice('lint', '--all')} and "
                 f"{given.sluice('fix', '--include-locked')} do not read it).")
    out: set[str] = set()
    for rel, digest in state.files.items():
        file = layout.root / rel
        with contextlib.suppress(OSError):
            if file_digest(file) == digest:
                out.add(os.path.realpath(file))
    return out


def select_trees(history: History, nodes: list[Node], layout: Layout,
                  trees: Sequence[str], where: str | None = None) -> set[int]:
    """Indexes (into ``nodes``) of the revisions in the named trees; ``where``: the
    setting that names them (``sluice.toml:3: lint.trees``), for the error an unknown
    name is."""
    selected: set[int] = set()
    labels = history.labels()
    for tree in trees:
        name = tree.strip().rstrip("/")
        locations = match_locations(name, layout)
        if locations:
            for i, n in enumerate(nodes):
                if any(n.path.is_relative_to(loc) for loc in locations):
                    selected.add(i)
            continue
        if name in labels:
            rev = labels[name]
            ids = {rev} | history.ancestors(rev) | history.descendants(rev)
            selected |= {i for i, n in enumerate(nodes) if n.revision in ids}
            continue
        available = sorted({str(display_path(p, layout.root)) for p in layout.version_locations}
                           | set(labels))
        import difflib  # lazy: only for an unknown name

        close = difflib.get_close_matches(name, available, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        named = f"{where}: '{tree}'" if where else f"tree '{tree}'"
        raise SluiceError(f"{named}: not a version location or branch label{hint} "
                          f"(available: {', '.join(available) or 'none'})")
    return selected


def match_locations(name: str, layout: Layout) -> list[Path]:
    """Every version location ``name`` names: its path, or its folder name, which several
    locations may share (one ``expand`` folder per service: all of them)."""
    found = []
    for loc in layout.version_locations:
        candidates = {str(loc), loc.name, str(display_path(loc, layout.root))}
        with contextlib.suppress(OSError):
            if Path(name).resolve() == loc or (layout.root / name).resolve() == loc:
                candidates.add(name)
        if name in candidates:
            found.append(loc)
    return found


def display_path(path: Path, root: Path | None = None) -> Path:
    """``path`` relative to the working directory (else ``root``) when it is inside it."""
    text = str(path)
    for base in (str(Path.cwd()), str(root) if root is not None else None):
        if base and text.startswith(base.rstrip(os.sep) + os.sep):
            return Path(text[len(base.rstrip(os.sep)) + 1:])
    return path


def display_str(text: str, cwd: str) -> str:
    prefix = cwd.rstrip(os.sep) + os.sep
    return text[len(prefix):] if text.startswith(prefix) else text


# --------------------------------------------------------------------------- reading


def read_node(path: str | Path, layout: Layout, cache: LintCache, parse_all: bool) -> Node:
    """One revision file with its content hash and graph header: from the cache entry when
    it vouches for the file, else from the source (``parse_all``: from the full static
    parse, which linting everything needs anyway)."""
    text = os.fspath(path)
    try:
        info = os.stat(text)
        stamp = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
        # unchanged size, times and inode: the content hash the cache recorded still holds
        # (the ctime moves with any write, also one whose mtime was put back)
        entry = cache.peek_stamp(text, stamp)
        if entry is not None:
            raw, digest = None, str(entry["hash"])
        else:
            with open(text, "rb") as fh:
                raw = fh.read()
            # (nothing to look up or store without a cache folder)
            digest = content_hash(raw) if cache.enabled else ""
            entry = cache.peek(text, digest)
    except OSError as exc:
        raise SluiceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    node = Node(text, raw, digest, stamp)
    for prefix, loc in layout.location_prefixes():
        if text.startswith(prefix):
            node.location = loc
            break
    if entry is not None:
        rep = entry["report"]
        set_graph(node, rep.get("revision"), rep.get("down_revision"),
                  rep.get("branch_labels"), rep.get("depends_on"))
    else:
        source = node.text()
        head = (static_result(node).header if parse_all or source is None
                else header_from_source(source, node.path))
        if head is not None:
            set_graph(node, head.revision, head.down_revision, head.branch_labels,
                      head.depends_on)
            if head.syntax_error is not None:
                node.down_raw = None  # the report shows what a parse could read
    return node


# --------------------------------------------------------------------------- scope


def select_revisions(
    nodes: list[Node],
    layout: Layout,
    *,
    trees: Sequence[str],
    revisions: Sequence[str] | None,
    since: str | None,
    paths: Sequence[str | Path] | None,
    changed_base: str | bool | None,
    trees_where: str | None = None,
) -> set[int]:
    """Indexes (into ``nodes``) of the revisions in scope (see
    :func:`sluice.lint.engine.lint_project` for what each argument means; ``trees_where``:
    the setting ``trees`` come from, see :func:`select_trees`)."""
    history = None
    if trees or revisions or (since is not None and since.strip() != "base"):
        history = build_history([
            RevisionHeader(path=n.path, revision=n.revision, down_revisions=n.down,
                           branch_labels=n.labels, depends_on=n.depends)
            for n in nodes], strict=False, root=layout.root)
    selected = set(range(len(nodes)))
    if trees:
        assert history is not None
        selected &= select_trees(history, nodes, layout, trees, trees_where)
    if revisions:
        assert history is not None
        wanted: set[str] = set()
        for spec in revisions:
            wanted |= set(history.resolve(spec, "--revision"))
        return {i for i in selected if nodes[i].revision in wanted}
    if since is not None:
        after = _after(nodes, history, since)
        return {i for i in selected if nodes[i].revision in after or nodes[i].revision is None}
    if paths is not None:
        wanted_paths = {os.path.realpath(p) for p in paths}
        return {i for i in selected if nodes[i].file in wanted_paths}
    if changed_base is not None and changed_base is not False:
        base = None if changed_base is True else str(changed_base)
        changed = changed_files(layout.root, base)
        return {i for i in selected if nodes[i].path in changed}
    return selected


def _after(nodes: list[Node], history: History | None, since: str) -> set[str]:
    """Revision ids after ``since`` (its descendants; every revision after ``base``)."""
    after: set[str] = set()
    if history is None:  # --since base
        return {n.revision for n in nodes if n.revision}
    for rev in history.resolve(since, "--since"):
        after |= history.descendants(rev)
    return after
