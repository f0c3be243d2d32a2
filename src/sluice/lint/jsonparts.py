"""The JSON text of a lint's findings and revision records, kept in the lint cache.

A ``--format json`` lint writes the findings and the record of every revision, most of
them unchanged since the lint before. For each entry of the lint cache, ``lint.json``
beside it (with ``lint.jsonrecent``, as ``lint.cache`` and ``lint.recent``; sealed the
same way, under the same key) keeps the text the document holds for the entry's findings
and report (``"json"``: the shown paths' prefix, the text of the revision's findings or
None, the text of its record), so a warm lint encodes only the revisions it analysed
again; other formats never read it.

The text depends on the entry only (kept for its content hash, under the cache's key: the
Sluice code, the configuration and options) and on the working folder the paths are shown
relative to (kept with it). The findings list is sorted by path across revisions
and takes findings no entry holds (duplicate revision ids): a revision's kept text stands
for the findings of its path only while they are exactly the findings of its entry, in
the order the sort gives them; any other run of findings is encoded each time.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain, groupby, repeat

from sluice.lint.cache import LintCache
from sluice.lint.model import Finding
from sluice.lint.results import RevisionReport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Encode", "sort_encoded"]

#: The text of a non-empty list's items at the document's list depth
#: (:func:`sluice.output.jsonout.list_items`).
Encode = Callable[[list["Any"]], str]


def _order(pair: tuple[Finding, int]) -> tuple[str, int, str]:
    f = pair[0]
    return (f.path or "", f.line or 0, f.rule)


def _path(pair: tuple[Finding, int]) -> str | None:
    return pair[0].path


#: The files of the kept text (all entries, those changed since).
FILES = ("lint.json", "lint.jsonrecent")


def sort_encoded(findings: list[Finding], reports: list[RevisionReport], files: list[str],
                 counts: list[int], cache: LintCache, prefix: str,
                 encode: Encode, version: str = "") -> tuple[list[str], list[str]]:
    """Sort ``findings`` in place as a lint does (path, line, rule) and return the text
    of the sorted findings and of the reports' records, in pieces (see
    :class:`sluice.output.jsonout.Encoded`), from the cache where it holds them.

    ``findings``: each report's findings in report order (``counts[i]`` of report ``i``,
    whose cache entry is ``files[i]``), then findings of no report; their paths and the
    reports' are shown relative to ``prefix``. Text encoded for an entry of ``cache`` (the
    lint cache, saved) is stored in ``lint.json``, under the cache's key and ``version``
    (the encoder's)."""
    kept_files = LintCache(cache.folder, f"{cache.key};{version}", files=FILES)
    origins = list(chain.from_iterable(map(repeat, range(len(counts)), counts)))
    origins += repeat(-1, len(findings) - len(origins))
    pairs = sorted(zip(findings, origins, strict=True), key=_order)
    findings[:] = [f for f, _ in pairs]
    kept: list[list[Any]] = []
    new: set[int] = set()
    revisions: list[str] = []
    for i, report in enumerate(reports):
        entry = cache.entries.get(files[i])
        digest = entry.get("hash") if entry is not None else None
        held = kept_files.peek(files[i], digest) if isinstance(digest, str) else None
        text = held.get("json") if held is not None else None
        if not isinstance(text, list) or len(text) != 3 or text[0] != prefix:
            text = [prefix, None, encode([report.as_dict(statements=False)])]
            new.add(i)
        kept.append(text)
        revisions.append(text[2])
    pieces: list[str] = []
    for path, run in groupby(pairs, key=_path):
        items = list(run)
        i = items[0][1]
        if i < 0 or len(items) != counts[i] or reports[i].path != path \
                or any(o != i for _, o in items):
            pieces.append(encode([f.as_dict() for f, _ in items]))
            continue
        text = kept[i]
        if text[1] is None:
            text[1] = encode([f.as_dict() for f, _ in items])
            new.add(i)
        pieces.append(text[1])
    for i in new:
        entry = cache.entries.get(files[i])
        if entry is not None:
            kept_files.put(files[i], entry["hash"], [], {"json": kept[i]})
    kept_files.prune(set(cache.entries))
    kept_files.save()
    return pieces, revisions
