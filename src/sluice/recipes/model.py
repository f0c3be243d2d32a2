"""What a recipe is, the context it runs in, and the one registry every recipe is in."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from alembic.operations.ops import MigrateOperation

from sluice.core.durations import parse_duration
from sluice.errors import SluiceError

#: A rewrite: the op and the context in, the safe ops out; None when the recipe does not
#: apply to this op (another shape, a table created in the same revision, a target
#: version that lacks what the safe form needs).
Rewrite = Callable[[MigrateOperation, "RecipeContext"], "list[MigrateOperation] | None"]

#: The lock timeout written into a recipe when no environment configures one.
DEFAULT_LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class Recipe:
    """One mechanical safe alternative to a dangerous operation.

    ``id``: stable kebab-case name (``pg-create-index-concurrently``); ``rules``: the
    lint rule ids whose finding it answers (empty for a guard that no finding asks for,
    such as an explicit MySQL ``ALGORITHM``); ``dialect``: ``postgresql`` or ``mysql``;
    ``since``: the oldest server version per flavor (``postgresql``, ``mysql``,
    ``mariadb``) the safe form works on; ``title``: one line; ``doc``: the naive op and
    the safe sequence, in Markdown; ``rewrite``: the function; ``undo_whole``: the
    downgrade of its steps after the backfill (a contract revision's) is the recipe
    applied to the op's reverse, not those steps undone one by one (a swap has no
    step-by-step reverse); ``rebuilds_column``: its steps drop the op's column and build
    it again, which drops what depends on it, so it is not applied to a column an index
    or a constraint made earlier in the revision depends on
    (:func:`sluice.recipes.apply.rewrite_op`).
    """

    id: str
    rules: tuple[str, ...]
    dialect: str
    since: Mapping[str, tuple[int, ...]]
    title: str
    doc: str
    rewrite: Rewrite = field(repr=False, compare=False)
    undo_whole: bool = False
    rebuilds_column: bool = False

    def since_text(self) -> str:
        """``PostgreSQL 12``; ``MySQL 8.0.12, MariaDB 10.3.2``; ``any`` when unbounded."""
        names = {"postgresql": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}
        parts = [f"{names[k]} {'.'.join(map(str, v))}" for k, v in self.since.items() if v]
        return ", ".join(parts) or "any"


@dataclass(frozen=True)
class RecipeContext:
    """Where the rewritten revision will run.

    ``dialect``: ``postgresql``, ``mysql`` or ``sqlite`` (no recipe for SQLite);
    ``target_postgres_version`` and ``target_mysql_version`` as in ``[tool.sluice.lint]``
    (``"8.0"``, ``"mariadb-10.11"``); ``lock_timeout``: the value every rewritten DDL
    statement on an existing table waits at most for its lock (``"5s"``, ``"500ms"``);
    ``active_rules``: the lint rule ids in force (None: every rule); ``phase``: where the
    ops rewritten are, ``upgrade`` or ``downgrade`` (None: not said).
    """

    dialect: str
    target_postgres_version: int = 14
    target_mysql_version: str = "8.0"
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT
    #: Ids of the lint rules in force; a recipe that answers only rules outside it is not
    #: applied (a team that turned SL201 off wants its indexes as written). None: all.
    active_rules: frozenset[str] | None = None
    #: ``upgrade`` or ``downgrade``: lint reports most rules on an upgrade only, so a
    #: recipe declines there what a rule it does not answer reports (a lossy type
    #: change), and writes no ``# sluice: ignore[...]`` where lint does not look. None:
    #: the caller rewrites both phases with this context (safe_by_default); an op is
    #: then taken for a downgrade's when it undoes one a recipe rewrote earlier with
    #: this context (:meth:`in_downgrade`), for an upgrade's otherwise.
    phase: str | None = None
    #: Keys of the ops that undo the ops the recipes rewrote with this context.
    _undo: set[tuple[object, ...]] = field(default_factory=set, init=False, compare=False,
                                           repr=False)

    def rewrote(self, undo_key: tuple[object, ...]) -> None:
        """A recipe rewrote an op; ``undo_key``: the key of the op that undoes it."""
        self._undo.add(undo_key)

    def in_downgrade(self, key: tuple[object, ...] | None = None) -> bool:
        """The ops rewritten are a downgrade's: ``phase`` says so, or, not said, the op
        (its ``key``) undoes one rewritten earlier with this context."""
        if self.phase is not None:
            return self.phase == "downgrade"
        return key is not None and key in self._undo

    def in_force(self, rule: str) -> bool:
        """Lint rule ``rule`` (an id) is in force."""
        return self.active_rules is None or rule in self.active_rules

    def wants(self, recipe: Recipe) -> bool:
        """``recipe`` applies here: the dialect, the target version, a rule in force."""
        if recipe.dialect != self.dialect or not self.at_least(recipe.since):
            return False
        return (not recipe.rules or self.active_rules is None
                or bool(self.active_rules & set(recipe.rules)))

    @property
    def mysql_flavor(self) -> tuple[str, tuple[int, ...]]:
        """``("mariadb", (10, 11))`` or ``("mysql", (8, 0))`` from ``target_mysql_version``."""
        return parse_mysql_version(self.target_mysql_version)

    def at_least(self, since: Mapping[str, tuple[int, ...]]) -> bool:
        """The target server is at least the version ``since`` names for its flavor."""
        if self.dialect == "postgresql":
            want = since.get("postgresql")
            return want is not None and (self.target_postgres_version,) >= want[:1]
        flavor, nums = self.mysql_flavor
        want = since.get(flavor)
        return want is not None and nums >= want

    @property
    def lock_timeout_ms(self) -> int:
        ms = parse_duration(self.lock_timeout, key="lock_timeout")
        return int(ms) if ms is not None else 0


def parse_mysql_version(text: str) -> tuple[str, tuple[int, ...]]:
    """``("mysql", (8, 0, 99))`` for ``"8.0"`` (a series at its current patch level, as
    lint reads it), ``("mariadb", (10, 11, 99))`` for ``"mariadb-10.11"`` or ``"10.11"``."""
    raw = text.strip().lower()
    if not re.fullmatch(r"(mariadb|mysql)?[-_ ]?\d+(\.\d+)*", raw):
        raise SluiceError(f"target_mysql_version: {text!r} is not a version like "
                          '"8.0" or "mariadb-10.11"')
    nums = tuple(int(n) for n in re.findall(r"\d+", raw))
    flavor = "mariadb" if raw.startswith("mariadb") or nums[0] >= 10 else "mysql"
    if len(nums) == 2:
        nums = (*nums, 99)
    return flavor, nums


_REGISTRY: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    """Add ``recipe`` to the registry (its id must be new)."""
    if recipe.id in _REGISTRY:
        raise ValueError(f"recipe {recipe.id} is registered twice")
    _REGISTRY[recipe.id] = recipe
    return recipe


def recipe(id: str, *, rules: Iterable[str], dialect: str,
           since: Mapping[str, tuple[int, ...]], title: str,
           undo_whole: bool = False,
           rebuilds_column: bool = False) -> Callable[[Rewrite], Rewrite]:
    """Decorator: register the decorated rewrite as a recipe; its docstring is the doc."""

    def wrap(fn: Rewrite) -> Rewrite:
        register(Recipe(id=id, rules=tuple(rules), dialect=dialect, since=dict(since),
                        title=title, doc=inspect.cleandoc(fn.__doc__ or ""), rewrite=fn,
                        undo_whole=undo_whole, rebuilds_column=rebuilds_column))
        return fn

    return wrap


def _load() -> None:
    for name in ("postgres", "pg_types", "mysql"):  # importing a module registers its recipes
        importlib.import_module(f"sluice.recipes.{name}")


def all_recipes() -> list[Recipe]:
    """Every recipe, PostgreSQL first, in registration order."""
    _load()
    return list(_REGISTRY.values())


def find_recipe(id: str) -> Recipe | None:
    """The recipe with this id, or None."""
    _load()
    return _REGISTRY.get(id)


def recipes_for(dialect: str, rule: str | None = None) -> list[Recipe]:
    """The recipes of one dialect, optionally only those answering ``rule`` (an id)."""
    return [r for r in all_recipes()
            if r.dialect == dialect and (rule is None or rule.upper() in r.rules)]
