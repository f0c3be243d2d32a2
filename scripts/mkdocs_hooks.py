"""MkDocs hook for the documentation site (mkdocs.yml ``hooks:``).

Pages in docs/ link to files elsewhere in the repository (``../src/...``,
``../examples/...``) so that they work when read on the forge. On the site those become
links to the repository (``repo_url``); a link to a file that does not exist is a warning,
which ``mkdocs build --strict`` turns into a failure, like MkDocs' own check of links
between pages.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.sluice")

_LINK = re.compile(r"(\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
_FENCE = re.compile(r"^\s*(```|~~~)")


def outside_link(target: str, page_dir: Path, docs: Path, repo_url: str,
                 branch: str = "main") -> tuple[str | None, str | None]:
    """(rewritten URL or None to keep the link, problem or None) for one link target."""
    if "://" in target or target.startswith(("#", "mailto:", "/")):
        return None, None
    path, _, anchor = target.partition("#")
    if not path:
        return None, None
    resolved = (page_dir / path).resolve()
    if resolved == docs or docs in resolved.parents:
        return None, None  # a page or file of the site: MkDocs checks it
    root = docs.parent
    if root != resolved and root not in resolved.parents:
        return None, f"link {target} leaves the repository"
    if not resolved.exists():
        return None, f"link {target} points to {resolved.relative_to(root).as_posix()}, " \
                     "which does not exist"
    kind = "tree" if resolved.is_dir() else "blob"
    url = f"{repo_url.rstrip('/')}/{kind}/{branch}/{resolved.relative_to(root).as_posix()}"
    return url + (f"#{anchor}" if anchor else ""), None


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **_: Any) -> str:
    docs = Path(config["docs_dir"]).resolve()
    page_dir = (docs / page.file.src_path).parent
    repo_url = config.get("repo_url") or ""
    out: list[str] = []
    fenced = False
    for line in markdown.splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
        if fenced or "](" not in line:
            out.append(line)
            continue

        def fix(m: re.Match[str]) -> str:
            url, problem = outside_link(m.group(2), page_dir, docs, repo_url)
            if problem:
                log.warning("Doc file '%s': %s", page.file.src_path, problem)
            return m.group(1) + url + m.group(3) if url else m.group(0)

        out.append(_LINK.sub(fix, line))
    return "".join(out)
