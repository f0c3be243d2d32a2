"""What every file of one lint shares: config, layout, dialects, the rules split by the
dialects they cover, the offline renderer (opened once), and the cache key."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from sluice import _version
from sluice.config import SluiceConfig
from sluice.lint.cache import content_hash
from sluice.lint.model import Finding, Op
from sluice.lint.registry import RuleIndex, active_rules, run_rules
from sluice.lint.scope import Layout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sluice.lint.registry import RuleIndex
    from sluice.lint.render import Renderer

__all__ = ["RunContext", "config_key", "meta_findings", "new_renderer"]


#: Rules about what fails on one dialect, run only when the project names its dialects:
#: linting all three because none is named, most projects never run on SQLite.
ONLY_WHEN_NAMED = frozenset({"SL608"})


@dataclass
class RunContext:
    """What every file of one lint run shares: configuration, layout, dialects, rules."""

    config: SluiceConfig
    layout: Layout
    dialects: list[str]
    render: bool
    stub_modules: list[str]
    known_rules: set[str]
    sql: bool = False
    #: Render every revision, also those static analysis decides alone.
    render_all: bool = False
    #: The project named its dialects (False: all three are linted, none named).
    named: bool = True
    renderer: Renderer | None = None
    stack: contextlib.ExitStack | None = None
    _active: list[Any] | None = None
    _split: dict[tuple[str, ...], tuple[RuleIndex, dict[str, RuleIndex]]] = field(
        default_factory=dict)

    def _rules_for(self, dialects: list[str]) -> tuple[RuleIndex, dict[str, RuleIndex]]:
        key = tuple(dialects)
        if key not in self._split:
            if self._active is None:
                self._active = [r for r in active_rules(self.config) if r.family != "meta"
                                and (self.named or r.id not in ONLY_WHEN_NAMED)]
            shared = [r for r in self._active if set(dialects) <= set(r.dialects)]
            in_shared = {id(r) for r in shared}  # rules are distinct objects
            specific = {d: RuleIndex([r for r in self._active
                                      if id(r) not in in_shared and d in r.dialects])
                        for d in dialects}
            self._split[key] = (RuleIndex(shared), specific)
        return self._split[key]

    def shared_rules(self, dialects: list[str]) -> RuleIndex:
        """Active rules that cover every dialect in ``dialects``."""
        return self._rules_for(dialects)[0]

    def specific_rules(self, dialects: list[str], dialect: str) -> RuleIndex:
        """Active rules for ``dialect`` that do not cover all of ``dialects``."""
        return self._rules_for(dialects)[1][dialect]

    def get_renderer(self) -> Renderer:
        if self.renderer is None:
            self.stack = contextlib.ExitStack()
            self.renderer = self.stack.enter_context(
                new_renderer(self.layout, self.dialects, self.stub_modules, self.sql))
        return self.renderer

    def close(self) -> None:
        if self.stack is not None:
            self.stack.close()
            self.stack = None
            self.renderer = None


def new_renderer(layout: Layout, dialects: Sequence[str], stub_modules: Sequence[str],
                 sql: bool) -> Renderer:
    """A renderer for the project of ``layout`` (enter it before rendering)."""
    from sluice.lint.render import Renderer  # lazy: the render layer imports Alembic

    return Renderer(
        layout.alembic_cfg,
        script_location=layout.script_location,
        version_locations=[str(v) for v in layout.version_locations],
        dialects=list(dialects),
        stub_modules=list(stub_modules),
        sys_path=layout.sys_path,
        project_root=layout.root,
        sql=sql,
    )


def meta_findings(ops: list[Op], config: SluiceConfig) -> list[Finding]:
    meta = [r for r in active_rules(config) if r.family == "meta"]
    return run_rules(ops, config, dialect=None, rules=meta) if meta else []


def _rules_fingerprint() -> str:
    """Changes whenever the code of lint, the rules or the core changes (so the cache never
    goes stale); the rules' fixtures do not count.

    Sources beside their installation record (a wheel installed by pip or another
    installer) change only with a reinstall, which rewrites that record: its size, time
    and inode stand for every file. Anywhere else (an editable install, a checkout) each
    file counts: ``os.scandir`` and each entry's own ``stat``, not ``Path.rglob`` nor a
    path joined in Python per file, as every warm lint computes it."""
    parts = [_version.__version__]  # read at call time: a new version is a new key
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    record = os.path.join(os.path.dirname(package),
                          f"alembic_sluice-{parts[0]}.dist-info", "RECORD")
    try:
        st = os.stat(record)
    except OSError:
        pass
    else:
        if st.st_size:
            return f"{parts[0]};installed:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    for base in ("lint", "rules", "core"):
        found: list[tuple[tuple[str, ...], os.DirEntry[str]]] = []
        _python_entries(os.path.join(package, base), (base,), found)
        found.sort(key=_parts)  # by path parts, as sorted Paths
        for rel, entry in found:
            try:
                st = entry.stat()  # follows a symbolic link, as os.stat
            except OSError:
                continue
            parts.append(f"{os.sep.join(rel)}:{st.st_mtime_ns}:{st.st_size}")
    return ";".join(parts)


def _parts(item: tuple[tuple[str, ...], os.DirEntry[str]]) -> tuple[str, ...]:
    return item[0]


def _python_files(folder: str, rel: tuple[str, ...], out: list[tuple[str, ...]]) -> None:
    """The ``*.py`` files under ``folder``, each as its path parts from the package
    (nothing under a rule's ``*.fixtures`` folder or ``__pycache__``)."""
    found: list[tuple[tuple[str, ...], os.DirEntry[str]]] = []
    _python_entries(folder, rel, found)
    out.extend(parts for parts, _ in found)


def _python_entries(folder: str, rel: tuple[str, ...],
                    out: list[tuple[tuple[str, ...], os.DirEntry[str]]]) -> None:
    """:func:`_python_files`, each with its directory entry."""
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if name.endswith(".py") and entry.is_file():
            out.append(((*rel, name), entry))
        elif entry.is_dir() and not name.endswith(".fixtures") and name != "__pycache__":
            _python_entries(entry.path, (*rel, name), out)


def config_key(config: SluiceConfig, dialects: list[str], stubs: list[str],
                render: bool | str, x_args: Sequence[str], sql: bool) -> str:
    """The cache key of one lint's settings (``render``: False, True or ``"all"``)."""
    data = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
            if not f.metadata.get("internal")}
    payload = _canonical({
        # where the configuration lives: findings name its tables as that file spells them
        "config": data, "spelling": config.key_path(""), "dialects": dialects, "stubs": stubs,
        "render": render,
        "x": list(x_args), "sql": sql, "rules": _rules_fingerprint(),
    })
    return content_hash(payload.encode())


def _canonical(value: Any) -> str:
    """``value`` as text that depends on its content only: dataclass fields (not the
    internal ones) and mapping keys in sorted order, set members sorted, anything else
    that is not plain data by its ``str`` (what a JSON encoder with ``default=str`` and
    sorted keys gives, without importing :mod:`json` into a warm lint's start-up)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)
                 if not f.metadata.get("internal")}
    if isinstance(value, dict):
        items = sorted((str(k), _canonical(v)) for k, v in value.items())
        return "{" + ",".join(f"{k!r}:{v}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted(_canonical(v) for v in value)) + "}"
    if value is None or isinstance(value, (str, int, float)):  # bool is an int
        return repr(value)
    return repr(str(value))
