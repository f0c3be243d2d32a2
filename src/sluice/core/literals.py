"""The ``Literal`` types of Sluice's configuration and findings, defined once.

Importing this module imports :mod:`typing`, which a warm ``sluice lint`` does not: the
modules that use these types import them for the type checker only, and
:func:`sluice.typed_toml.type_hints` resolves the configuration dataclasses' annotations
with them when a configuration file is parsed.
"""

from __future__ import annotations

from typing import Literal

Severity = Literal["error", "warning", "info"]
EmptyRevision = Literal["error", "skip", "allow"]
DangerousOps = Literal["error", "warn"]
Downgrades = Literal["required", "optional", "none"]
