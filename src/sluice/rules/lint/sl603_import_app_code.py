"""SL603 ``import-app-code``. The check's docstring is the rule's documentation.

Fixtures: ``sl603_import_app_code.fixtures/`` (``SL603_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL603_ok*.py`` must not).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from sluice.core.libraries import known_library
from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@lru_cache(maxsize=512)
def _where(top: str) -> str:
    """``library`` (installed in site-packages), ``elsewhere`` (found outside it: the
    project, installed editable or on the path) or ``nowhere``. Only the top-level name is
    looked up, which locates the package without importing it."""
    if not top or top.startswith("."):
        return "elsewhere"
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return "nowhere"
    if spec is None:
        return "nowhere"
    where = spec.origin or ""
    if spec.submodule_search_locations:
        where = next(iter(spec.submodule_search_locations), where)
    parts = Path(where).parts
    return "library" if "site-packages" in parts or "dist-packages" in parts else "elsewhere"


@lru_cache(maxsize=512)
def in_project(top: str, root: Path | None) -> bool:
    """A package or module ``top`` sits in the project: beside alembic.ini, in its
    ``src/``, or one folder up (alembic.ini in a ``backend/`` folder of the repository)."""
    if root is None:
        return False
    for base in (root, root / "src", root.parent, root.parent / "src"):
        if (base / top).is_dir() or (base / f"{top}.py").is_file():
            return True
    return False


@lru_cache(maxsize=512)
def _script_dir(revision: str) -> Path | None:
    """The migrations folder of a revision file: the nearest folder above it with env.py."""
    for folder in Path(revision).parents:
        if (folder / "env.py").is_file():
            return folder
    return None


def of_migrations_package(name: str, path: str | None, root: Path | None) -> bool:
    """``name`` is the migrations package itself or a module in it (``ckan.migration`` for a
    revision under ``ckan/migration/versions``): the dotted name ends at the folder that
    holds env.py, or continues to a module found inside it."""
    if not path:
        return False
    revision = Path(path)
    if not revision.is_absolute() and root is not None:
        revision = root / revision
    scripts = _script_dir(str(revision))
    if scripts is None:
        return False
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        if tuple(parts[:k]) != scripts.parts[-k:]:
            continue
        rest = scripts.joinpath(*parts[k:]) if parts[k:] else scripts
        return rest.is_dir() or rest.with_suffix(".py").is_file()
    return False


@rule("SL603", "import-app-code", family="script", severity="warning", kinds=("script.import",))
def import_app_code(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A revision imports application code (models, helpers, settings).

    Why it is dangerous: a revision is a snapshot of the schema at one point in time, but
    imported code keeps changing. When a model gains a column next month, this old
    revision's data migration starts selecting a column that does not exist yet at its
    point in history, and a fresh ``alembic upgrade head`` (CI, a new developer, disaster
    recovery) breaks. Imports that need a running app (settings, app factories) also make
    the revision impossible to render offline. Libraries installed in site-packages
    (column types, drivers) and the standard library are not flagged, nor is a package
    found neither where the lint runs nor in the project's folders (beside alembic.ini,
    ``src/``, one folder up): a library that environment lacks, such as a pre-commit
    hook's own virtualenv. A package listed in ``lint.stub_modules`` is the project's,
    unless it is a third-party library: a known one or a SQLAlchemy/Alembic extension by
    its name (``sqlalchemy_*``, ``alembic_*``), or one installed in site-packages and not
    found in the project's folders. Stubbing such a library only stands it in for
    rendering; SL903 suggests installing a missing library in the lint's environment
    rather than stubbing it. Nor is a module of the migrations package itself (the folder
    holding env.py, such as ``ckan.migration`` for ``ckan/migration/versions``): a helper
    kept there is written for the revisions and ships with them, like env.py.

    Safe alternative:
    1. Copy what the revision needs into it: a lightweight ``sa.table("users",
       sa.column("id"), ...)`` instead of the ORM model, plain SQL instead of a helper.
    2. For custom column types, import them from a small, stable module and list the
       package in ``lint.stub_modules`` so rendering can stand it in.
    """
    if op.kind != "script.import" or not op.name:
        return
    top = op.name.split(".")[0]
    if of_migrations_package(op.name, op.path, ctx.config.root):
        return  # a helper beside env.py: part of the migrations, not the application
    if known_library(top):
        return  # (stubbed or not: --stub stands a library in, it does not make it ours)
    stubbed = top in ctx.config.lint.stub_modules
    where = _where(top)
    if where == "library" and not (stubbed and in_project(top, ctx.config.root)):
        return  # installed in site-packages: a library (stubbed, it is ours only when its
        # package sits in the project's folders too)
    if where == "nowhere" and not stubbed and not in_project(top, ctx.config.root):
        return  # found neither here nor in the project: a library this environment lacks
        # (a pre-commit hook's own virtualenv), not the project's code
    names = op.args.get("names") or []
    shown = f"{op.name} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})" \
        if names else op.name
    yield Hit(
        f"imports {shown} inside the revision; the code keeps changing while the revision "
        "must not, so `upgrade head` from an empty database breaks later",
        steps(
            "Replace ORM models with a local snapshot: sa.table('<table>', "
            "sa.column('<col>'), ...).",
            "Inline helpers the revision needs, or move them to a small module that never "
            "changes.",
            f"If the import must stay (a custom column type), suppress this with a reason and "
            f"add '{top}' to lint.stub_modules so rendering can stand it in.",
        ),
    )
