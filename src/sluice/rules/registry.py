"""The one rule registry: lint, trace and check rules, each as data plus one function.

Every rule lives in a file of its own under ``sluice/rules/<kind>/`` and registers itself
when that file is imported; :func:`all_rules` imports the files of a kind on first use.

- ``lint`` rules (``SL...``, :mod:`sluice.rules.lint`) declare themselves with
  :func:`rule`: the decorated function is the check, and its docstring the rule's
  documentation (``sluice rules ID`` and ``docs/rules.md`` are generated from it): first
  paragraph the summary, then why it is dangerous, then the safe alternative step by step.
  A rule's good and bad fixtures sit beside it, in ``<module>.fixtures/``.
- ``trace`` rules (``TR...``, :mod:`sluice.rules.trace`) are measurements, not
  predictions: :func:`trace_rule` registers one with its file's docstring as its
  documentation; ``sluice trace`` measures the locks and reports the rule that applies.
- ``check`` rules (``check.<name>``, :mod:`sluice.rules.check`) are the checks of
  ``sluice check``, in the order they run: :func:`check_rule` registers one with its
  file's docstring as its documentation; ``sluice.check`` runs it.

A lint rule that only ever reports on some op kinds says which (``kinds=("drop_table",
"execute")``), and one that only reports on ops of some phases says that
(``phases=UPGRADE``): the lint engine then never calls its check for other ops (see
:class:`RuleIndex`). Most rules look at one or two kinds of upgrade ops, so this saves most
check calls of a lint run. A rule without ``kinds`` (``phases``) sees ops of every kind
(phase).

The lint rules Sluice ships are listed, as data, in :mod:`sluice.rules._lint_manifest`
(generated from the rule files: ``python -m sluice.rules._lint_manifest_gen``; a test
checks it equals what the files register). :func:`all_rules` registers them from it
without importing their files; a rule's file is imported when its check is first needed
(:attr:`Rule.check`; its documentation, :attr:`Rule.doc`, too), so a lint runs the code of
the rules that can report on its operations only. Registering a rule of the manifest
whose data differs from the manifest's raises :class:`ValueError`.

Importing this module (or a rule file) does not import sqlglot: the SQL helpers of
:mod:`sluice.rules._sql` import it when they first parse a statement.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sluice.core.findings import SEVERITY_ORDER, is_severity
from sluice.core.ops import DIALECTS, Hit, Op

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    from sluice.config import SluiceConfig
    from sluice.core.literals import Severity

    Kind = Literal["lint", "trace", "check"]

#: Every kind of rule, in the order ``sluice rules --kind all`` and the docs list them.
KINDS: tuple[Kind, ...] = ("lint", "trace", "check")


@dataclass
class RuleContext:
    """What a lint check may look at besides the op itself."""

    config: SluiceConfig
    #: The dialect being linted (None: the op model only, e.g. during autogenerate).
    dialect: str | None = None
    #: All ops of the same revision and phase, in order (for revision-level rules).
    ops: list[Op] = field(default_factory=list)


CheckFn = Callable[[Op, RuleContext], "Hit | Iterable[Hit] | None"]


@dataclass(frozen=True)
class Rule:
    """A rule: its id, name, family, dialects, severity and check."""

    id: str
    name: str
    family: str
    dialects: tuple[str, ...]
    severity: Severity
    #: A lint rule's check as far as it is loaded (see :attr:`check`).
    loaded: CheckFn | None = field(compare=False)
    #: Used by the autogenerate policy to refuse or annotate generated operations.
    autogenerate: bool = False
    #: Off unless enabled in ``[tool.sluice.lint] enable``.
    default_enabled: bool = True
    #: The op kinds the check can report on (None: any). Ops of other kinds are not
    #: passed to it, so it must return nothing for them.
    kinds: frozenset[str] | None = None
    #: The phases (``upgrade``, ``downgrade``) of the ops the check can report on (None:
    #: any); the same contract as ``kinds``.
    phases: frozenset[str] | None = None
    #: ``lint``, ``trace`` or ``check``.
    kind: Kind = "lint"
    #: A check's title in reports (``revision graph``); empty for other kinds.
    title: str = ""
    #: A check that needs a database (``upgrade``, ``drift``, ``roundtrip``).
    needs_database: bool = False
    #: The documentation of a trace or check rule (its file's docstring).
    text: str = field(default="", repr=False)
    #: The module whose import registers the check of a lint rule of the manifest ("":
    #: none to import).
    module: str = field(default="", compare=False, repr=False)

    @property
    def check(self) -> CheckFn | None:
        """A lint rule's check (its file imported on first use); None for trace and check
        rules (their feature measures or runs them, see the module docs)."""
        fn = self.loaded
        if fn is None and self.module:
            importlib.import_module(self.module)  # its @rule fills in ``loaded``
            fn = self.loaded
            if fn is None:
                raise ValueError(f"{self.module} does not register rule {self.id}: "
                                 f"{_MANIFEST_FIX}")
        return fn

    @property
    def doc(self) -> str:
        import inspect  # lazy: documentation only; a lint never reads it

        check = self.check
        source = check.__doc__ if check is not None else self.text
        return inspect.cleandoc(source or "")

    @property
    def summary(self) -> str:
        return self.doc.split("\n\n", 1)[0].replace("\n", " ")


#: Every registered rule by id, all kinds (filled as the rule files are imported).
RULES: dict[str, Rule] = {}

#: ``phases=`` of a rule about what an upgrade does (most of them).
UPGRADE = ("upgrade",)


_MANIFEST_FIX = "regenerate sluice/rules/_lint_manifest.py (python -m sluice.rules._lint_manifest_gen)"
#: Whether the rules of the manifest are registered.
_manifest_read = False


def _register(new: Rule) -> None:
    old = RULES.get(new.id)
    if old is not None and old.module and old.loaded is None:  # from the manifest
        if old != new:
            raise ValueError(f"rule {new.id} differs from the manifest: {_MANIFEST_FIX}")
        object.__setattr__(old, "loaded", new.loaded)
        return
    if old is not None and _same_definition(old, new):
        # its file ran again (sys.modules restored or forgotten): the same rule, new check
        object.__setattr__(old, "loaded", new.loaded)
        return
    if old is not None:
        raise ValueError(f"duplicate rule id {new.id}")
    if any(r.name == new.name and r.kind == new.kind for r in RULES.values()):
        raise ValueError(f"duplicate {new.kind} rule name {new.name}")
    RULES[new.id] = new


def _same_definition(old: Rule, new: Rule) -> bool:
    """``new`` is ``old`` registered again by the same function of the same module."""
    a, b = old.loaded, new.loaded
    return (a is not None and b is not None and a.__module__ == b.__module__
            and a.__qualname__ == b.__qualname__ and old == new)


def rule(
    id: str,
    name: str,
    *,
    family: str,
    severity: Severity,
    dialects: Iterable[str] = DIALECTS,
    autogenerate: bool = False,
    default_enabled: bool = True,
    kinds: Iterable[str] | None = None,
    phases: Iterable[str] | None = None,
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated check function as a lint rule (``kinds``, ``phases``: see
    the module docs)."""

    def register(fn: CheckFn) -> CheckFn:
        _register(Rule(
            id=id,
            name=name,
            family=family,
            dialects=tuple(dialects),
            severity=severity,
            loaded=fn,
            autogenerate=autogenerate,
            default_enabled=default_enabled,
            kinds=frozenset(kinds) if kinds is not None else None,
            phases=frozenset(phases) if phases is not None else None,
        ))
        return fn

    return register


def trace_rule(id: str, name: str, *, family: str, severity: Severity, doc: str | None,
               dialects: Iterable[str] = ("postgresql", "mysql")) -> Rule:
    """Register a ``sluice trace`` rule documented by ``doc`` (its file's docstring)."""
    new = Rule(id=id, name=name, family=family, dialects=tuple(dialects), severity=severity,
               loaded=None, kind="trace", text=doc or "")
    _register(new)
    return new


def check_rule(name: str, *, title: str, needs_database: bool, doc: str | None,
               severity: Severity = "error") -> Rule:
    """Register a ``sluice check`` check (id ``check.<name>``) documented by ``doc``."""
    new = Rule(id=f"check.{name}", name=name, family="check", dialects=DIALECTS,
               severity=severity, loaded=None, kind="check", title=title,
               needs_database=needs_database, text=doc or "")
    _register(new)
    return new


def all_rules(kind: Kind | None = "lint") -> dict[str, Rule]:
    """The registered rules of ``kind`` (None: every kind) by id, in registration order
    (each kind's package lists its files in catalog order)."""
    for k in KINDS if kind is None else (kind,):
        if k == "lint":
            _read_manifest()
        else:
            importlib.import_module(f"sluice.rules.{k}")  # its files register their rules
    return {i: r for i, r in RULES.items() if kind is None or r.kind == kind}


def _read_manifest() -> None:
    """Register the lint rules of the manifest (their files stay unimported), in catalog
    order; a rule already registered by its file is checked against the manifest."""
    global _manifest_read
    if _manifest_read:
        return
    from sluice.rules._lint_manifest import LINT_RULES  # lazy: read on the first lookup

    for (module, id, name, family, dialects, severity, autogenerate, default_enabled,
         kinds, phases) in LINT_RULES:
        assert is_severity(severity), id
        new = Rule(
            id=id, name=name, family=family, dialects=dialects,
            severity=severity, loaded=None, autogenerate=autogenerate, default_enabled=default_enabled,
            kinds=frozenset(kinds) if kinds is not None else None,
            phases=frozenset(phases) if phases is not None else None,
            module=f"sluice.rules.lint.{module}")
        old = RULES.get(id)
        if old is None:
            RULES[id] = new
        elif old != new:
            raise ValueError(f"rule {id} differs from the manifest: {_MANIFEST_FIX}")
    _manifest_read = True


def find_rule(key: str, kind: Kind | None = "lint") -> Rule | None:
    """The rule of ``kind`` (None: any) whose id or name is ``key`` (any case)."""
    key_l = key.lower()
    for r in all_rules(kind).values():
        if r.id.lower() == key_l or r.name == key_l:
            return r
    return None


def active_rules(config: SluiceConfig) -> list[Rule]:
    """Lint rules enabled by defaults and ``[tool.sluice.lint] enable/disable``;
    :class:`~sluice.core.errors.ConfigError` for a key there or in ``severity`` that names
    no lint rule (see :func:`check_rule_keys`)."""
    check_rule_keys(config)
    lint = config.lint
    wanted = {k.lower() for k in lint.enable}
    unwanted = {k.lower() for k in lint.disable}
    out = []
    for r in all_rules().values():
        keys = {r.id.lower(), r.name, r.family}
        if keys & unwanted:
            continue
        if r.default_enabled or keys & wanted:
            out.append(r)
    return out


def check_rule_keys(config: SluiceConfig) -> None:
    """Refuse a ``[lint]`` ``enable``/``disable`` entry (a rule's id, name or family) or a
    ``severity`` key (a rule's id or name, as written in the catalog) that names no lint
    rule: a typo there would leave a rule off that was meant on, or at its own severity
    where the project asked for ``error``, without a word."""
    lint = config.lint
    if not (lint.enable or lint.disable or lint.severity):
        return
    rules = all_rules().values()
    ids = {r.id for r in rules}
    names = {r.name for r in rules}
    loose = ids | {i.lower() for i in ids} | names | {r.family for r in rules}
    for key, given in (("lint.enable", lint.enable), ("lint.disable", lint.disable),
                       ("lint.severity", list(lint.severity))):
        exact = ids | names if key == "lint.severity" else loose
        for value in given:
            if value in exact or (key != "lint.severity" and value.lower() in exact):
                continue
            _unknown_rule(config, key, value, sorted(exact))


def _unknown_rule(config: SluiceConfig, key: str, value: str, known: list[str]) -> None:
    from difflib import get_close_matches  # lazy: only to word the error

    from sluice.core.errors import ConfigError  # lazy: only for the error

    close = get_close_matches(value, known, n=1, cutoff=0.6) or \
        [k for k in known if k.lower() == value.lower()]
    hint = f"; did you mean {close[0]!r}?" if close else \
        "; `sluice rules` lists the ids and names"
    raise ConfigError(f"{config.where(key)}: {value!r} is no lint rule's id or name"
                      f"{' or family' if key != 'lint.severity' else ''}{hint}")


def severity_for(r: Rule, config: SluiceConfig, hit: str | None = None) -> Severity:
    """The rule's severity as configured, else the hit's own (``Hit.severity``), else the
    rule's."""
    sev = config.lint.severity.get(r.id) or config.lint.severity.get(r.name) or hit
    return sev if sev in SEVERITY_ORDER else r.severity  # type: ignore[return-value]


def hits(result: Any) -> Iterable[Hit]:
    """A check's return value (None, a :class:`Hit` or several) as hits."""
    if result is None:
        return ()
    if isinstance(result, Hit):
        return (result,)
    return result  # type: ignore[no-any-return]


class RuleIndex:
    """A rule list that knows which of its rules run for each op kind, phase and dialect.

    ``sluice.lint.registry.run_rules`` builds one per call; pass one as ``rules`` to share
    that work between calls with the same rules (the lint engine does, per file and phase).
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._for: dict[tuple[str, str, str | None], list[Rule]] = {}
        self._checks: dict[tuple[str, str, str | None], list[tuple[Rule, CheckFn]]] = {}

    def select(self, kind: str, phase: str, dialect: str | None) -> list[Rule]:
        """The rules that run for an op of ``kind`` and ``phase`` when linting
        ``dialect``, in catalog order."""
        key = (kind, phase, dialect)
        found = self._for.get(key)
        if found is None:
            found = self._for[key] = [
                r for r in self.rules
                if (r.kinds is None or kind in r.kinds)
                and (r.phases is None or phase in r.phases)
                and (dialect in r.dialects if dialect is not None
                     else not set(DIALECTS) - set(r.dialects))
            ]
        return found

    def checks(self, kind: str, phase: str, dialect: str | None
               ) -> list[tuple[Rule, CheckFn]]:
        """:meth:`select`'s lint rules with their checks (rules without one left out)."""
        key = (kind, phase, dialect)
        found = self._checks.get(key)
        if found is None:
            found = self._checks[key] = [
                (r, fn) for r in self.select(kind, phase, dialect)
                if (fn := r.check) is not None]
        return found
