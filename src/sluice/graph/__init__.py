"""The revision graph: a tree in the terminal, Mermaid or Graphviz, and multiple heads explained.

:func:`load_graph` reads each revision file's header (``revision``, ``down_revision``,
``branch_labels``, ``depends_on``, docstring, ``sluice_phase``) from its source, like lint
and check do, so a revision whose imports are missing where Sluice runs (the app's
packages in CI) still takes its place; only a file whose header is computed at import time
is imported (with ``stub_modules`` standing in for missing packages). Alembic's
:class:`~alembic.script.revision.RevisionMap` is built from the headers (cycles and missing
parents are one-line errors naming the files) and the result is a :class:`RevisionGraph`:
plain data that the renderers (:func:`render_text`, :func:`render_mermaid`,
:func:`render_dot`, :func:`graph_json`) and :func:`explain_heads` work on.
"""

from sluice.graph.heads import (
    HeadGroup,
    HeadsReport,
    explain_heads,
    heads_json,
    last_common_ancestors,
    render_heads,
)
from sluice.graph.load import (
    RevisionGraph,
    RevisionNode,
    build_graph,
    database_revisions,
    load_graph,
    read_node,
    version_tables,
)
from sluice.graph.render import graph_json, render_dot, render_mermaid, render_text

__all__ = [
    "HeadGroup", "HeadsReport", "RevisionGraph", "RevisionNode", "build_graph",
    "database_revisions", "explain_heads", "graph_json", "heads_json", "last_common_ancestors",
    "load_graph", "read_node", "render_dot", "render_heads", "render_mermaid", "render_text",
    "version_tables",
]
