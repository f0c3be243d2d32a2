"""bench/process.py loaded as a module, for tests of the benchmark itself."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.support.paths import REPO

__all__ = ["bench_process"]


def bench_process() -> ModuleType:
    """``bench/process.py``, imported once (its helpers import ``bench/`` modules)."""
    name = "bench_process_under_test"
    if name in sys.modules:
        return sys.modules[name]
    if str(REPO / "bench") not in sys.path:
        sys.path.insert(0, str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / "process.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
