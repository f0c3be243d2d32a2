"""What the recipes made of a revision's calls, kept between lints, so that text output
redraws the diff ``sluice fix`` would make without importing Alembic or SQLAlchemy.

``sluice lint`` shows, under a finding a recipe answers, the rewrite of its call. Drawing
it means evaluating the call against Alembic's operations and rendering the recipe's ops
with Alembic's renderer: a few hundred milliseconds of imports, on the very revision
being written. What the recipes make of a *chain* of calls
(:class:`~sluice.lint.fixplan.Chain`) depends only on the chain's own text, so it is kept
in ``fix.cache`` beside ``lint.cache`` (same folder, same MAC key and rules: see
:mod:`sluice.lint.cache`), keyed on

- each call's exact text, the function it is in (``upgrade``, ``downgrade``), and what
  the recipes read of the rest of the file (:class:`~sluice.lint.fixplan.Candidate`,
  :mod:`sluice.lint.fixreads`): the tables the revision creates or drops before it and
  those it drops a constraint of (by a call or by SQL), the columns an index or a
  constraint made before it depends on (by a call of its own, one inside a block or SQL,
  and in a downgrade by the upgrade),
- the module's import statements (what a call is evaluated with), its names for ``op``
  and for SQLAlchemy (what rewritten code calls) and the file's path,
- the dialect, the configuration (target versions, rules in force, the environments'
  ``lock_timeout``) and ``--env``,
- and, for the whole file, the code of Sluice's lint, rules, core and recipes and the
  installed Alembic and SQLAlchemy.

An edit elsewhere in the file (a comment, a docstring, another call) keeps every other
chain's entry; the file around them is put together again from the new text. Like the
lint cache, the memo cannot see the modules a revision imports. ``--no-cache`` neither
reads nor writes it; ``sluice fix`` never uses it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import marshal
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sluice.lint.cache import content_hash, read_sealed, write_sealed
from sluice.lint.context import _canonical, _python_files, _rules_fingerprint
from sluice.lint.fixplan import Chain, ChainOutcome, Plan, assemble, plan_source

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sluice.config import SluiceConfig

__all__ = ["DrawnCall", "DrawnFix", "FixMemo"]

_FILE = "fix.cache"
_FORMAT = 3
_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
#: Chains kept at most (the oldest go first); a lint draws diffs for 10 files at most.
LIMIT = 512


@dataclass
class DrawnCall:
    """One rewritten call (1-based lines) and the rule ids its recipes answer."""

    line: int
    end_line: int
    rules: tuple[str, ...]


@dataclass
class DrawnFix:
    """A revision file before and after the recipes, as lint draws its diffs."""

    path: str
    before: str
    after: str
    fixed: list[DrawnCall] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before != self.after


class FixMemo:
    """The chains' outcomes by key; ``folder`` None: nothing read or written."""

    def __init__(self, folder: Path | None, config: SluiceConfig, env: str | None) -> None:
        self.folder = folder
        self.config = config
        self.env = env
        self.entries: dict[str, list[Any]] = {}
        #: Chains found in the memo and chains computed, this run.
        self.hits = 0
        self.misses = 0
        self._dirty = False
        self._settings = _canonical({"config": config, "env": env})
        self._code = _code_fingerprint() if folder is not None else ""
        if folder is not None:
            self._load(folder)

    def _load(self, folder: Path) -> None:
        body = read_sealed(folder, _FILE)
        if body is None:
            return
        try:
            data = marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return
        if isinstance(data, dict) and data.get("format") == _FORMAT \
                and data.get("python") == _PYTHON and data.get("code") == self._code \
                and isinstance(data.get("entries"), dict):
            self.entries = data["entries"]

    def draw(self, source: str, *, path: str, dialect: str) -> DrawnFix:
        """What :func:`sluice.recipes.fix_source` makes of ``source`` for ``dialect``, from
        the memo where it can. Raises :class:`~sluice.errors.SluiceError` when the file
        does not parse, or the configuration gives no recipe context."""
        plan = plan_source(source, path)
        if not plan.chains:
            return DrawnFix(path, source, source)
        head = repr((dialect, path, plan.imports_text(), sorted(plan.aliases),
                     plan.sqlalchemy_name(), self._settings))
        keys = [_chain_key(head, chain) for chain in plan.chains]
        outcomes = [self._get(key, chain) for key, chain in zip(keys, plan.chains, strict=True)]
        missing = [i for i, o in enumerate(outcomes) if o is None]
        if missing:
            for i, outcome in zip(missing, self._compute(plan, missing, dialect), strict=True):
                outcomes[i] = outcome
                self._put(keys[i], outcome)
        after, fixed = assemble(plan, [o for o in outcomes if o is not None])
        return DrawnFix(path, source, after, [DrawnCall(m.start, m.end, r) for m, r in fixed])

    def _compute(self, plan: Plan, which: list[int], dialect: str) -> list[ChainOutcome]:
        from sluice.recipes import context_for  # lazy: Alembic, only for a chain not kept
        from sluice.recipes.source import fix_chains  # lazy: Alembic, as above

        ctx = context_for(self.config, dialect, env=self.env)
        self.misses += len(which)
        return fix_chains(plan, [plan.chains[i] for i in which], ctx)[0]

    def _get(self, key: str, chain: Chain) -> ChainOutcome | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        try:
            rules, runs, imports, anchors = entry
            outcome = ChainOutcome([None if r is None else tuple(map(str, r)) for r in rules],
                                   [[str(ln) for ln in run] for run in runs],
                                   [str(i) for i in imports],
                                   [None if a is None else (int(a[0]), str(a[1]))
                                    for a in anchors])
        except (TypeError, ValueError, IndexError):
            return None
        flags = [r is not None for r in outcome.rules]
        starts = sum(1 for i, on in enumerate(flags) if on and (i == 0 or not flags[i - 1]))
        if len(flags) != len(chain.members) or starts != len(outcome.runs) \
                or [a is not None for a in outcome.anchors] != flags:
            return None
        self.hits += 1
        return outcome

    def _put(self, key: str, outcome: ChainOutcome) -> None:
        self.entries.pop(key, None)
        self.entries[key] = [outcome.rules, outcome.runs, outcome.imports,
                             [None if a is None else list(a) for a in outcome.anchors]]
        while len(self.entries) > LIMIT:
            del self.entries[next(iter(self.entries))]
        self._dirty = True

    def save(self) -> None:
        """Write the memo when this run added to it (never without a folder)."""
        if self.folder is None or not self._dirty:
            return
        body = marshal.dumps({"format": _FORMAT, "python": _PYTHON, "code": self._code,
                              "entries": self.entries})
        if write_sealed(self.folder, _FILE, body):
            self._dirty = False


def _chain_key(head: str, chain: Chain) -> str:
    # the function a call is in too: recipes decline in an upgrade what they rewrite in
    # a downgrade, and write suppressions only where lint reads them; what a member holds
    # of the rest of the file is all the recipes read of it (plan_source)
    members = [(m.phase, m.text, sorted(m.new_tables), sorted(m.swapped), sorted(m.depended))
               for m in chain.members]
    payload = repr((head, members)).encode("utf-8", "surrogatepass")
    return content_hash(payload)


def _code_fingerprint() -> str:
    """Sluice's lint, rules, core (with its version) and recipes, and the installed
    Alembic and SQLAlchemy (found, not imported)."""
    parts = [_rules_fingerprint()]
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    found: list[tuple[str, ...]] = []
    _python_files(os.path.join(package, "recipes"), ("recipes",), found)
    files = [os.path.join(package, *rel) for rel in sorted(found)]
    for name, inside in (("alembic", ("__init__.py", "autogenerate/render.py",
                                      "operations/ops.py", "operations/base.py")),
                         ("sqlalchemy", ("__init__.py",))):
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin:
            files += [os.path.join(os.path.dirname(origin), rel) for rel in inside]
    for path in files:
        with contextlib.suppress(OSError):
            st = os.stat(path)
            parts.append(f"{path}:{st.st_mtime_ns}:{st.st_size}")
    return ";".join(parts)
