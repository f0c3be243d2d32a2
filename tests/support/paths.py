"""The repository and the example projects the tests copy."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLE = REPO / "examples" / "shop"
MULTISERVICE = REPO / "examples" / "multiservice"
