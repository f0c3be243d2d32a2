"""What sqlglot said of SQL statements, kept between lints: where a text splits into
statements (:func:`sluice.core.sql.statement_spans`, keyed ``("split", dialect)`` and the
text) and what a statement's tree holds (:func:`sluice.rules._sql._fill`, keyed by the
text and the dialect).

SQL that needs sqlglot's tokenizer or tree costs the import of sqlglot (about 0.1 s) and
its work. A warm lint re-reads only the revisions
that changed, but an edit to one call of a revision re-reads every statement in it: the
statements themselves did not change. The lint engine (:mod:`sluice.lint.sqlmemo`) hands
this module the summaries an earlier lint kept, by statement text and dialect, and saves
those added. The rules layer only reads and adds here: no file is touched.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    #: (statement text, dialect or "") -> the tree fields (:func:`sluice.rules._sql.encode`);
    #: (text, "split:" + dialect) -> the spans, ``(start, code, end)`` each.
    Entries = dict[tuple[str, str], tuple[Any, ...]]

_loader: Callable[[], Entries] | None = None
_entries: Entries | None = None
#: Keys added since the summaries were handed over (what a save has to write).
added: set[tuple[str, str]] = set()


def install(loader: Callable[[], Entries] | None) -> None:
    """Keep summaries, read by ``loader`` the first time one is looked up (None: keep
    none, the default)."""
    global _loader, _entries
    _loader, _entries = loader, None
    added.clear()


def entries() -> Entries | None:
    """The kept summaries (loaded on first use); None when none are kept."""
    global _entries
    if _entries is None and _loader is not None:
        _entries = _loader()
    return _entries


def loaded() -> Entries | None:
    """The summaries if they were loaded this run (None: never looked up)."""
    return _entries
