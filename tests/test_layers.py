"""The direction rule of docs/architecture.md: integrations -> features -> rules -> core;
sluice.core is the bottom layer, the rules import no feature and no feature reaches
sluice.integrations."""

from __future__ import annotations

from pathlib import Path

import grimp
from importlinter import configuration
from importlinter.application.use_cases import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_of_pyproject_hold(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The contracts in [tool.importlinter] (also run by `lint-imports`)."""
    monkeypatch.chdir(ROOT)
    configuration.configure()
    ok = lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None,
                      no_logo=True)
    assert ok, capsys.readouterr().out


def test_core_imports_nothing_of_sluice_outside_core() -> None:
    graph = grimp.build_graph("sluice", cache_dir=None)
    outside = {
        (importer, imported)
        for importer in graph.find_descendants("sluice.core") | {"sluice.core"}
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.startswith("sluice") and not (
            imported == "sluice.core" or imported.startswith("sluice.core."))
    }
    assert not outside, sorted(outside)


FEATURES = ("sluice.lint", "sluice.check", "sluice.runner", "sluice.data", "sluice.trace",
            "sluice.policy", "sluice.graph", "sluice.output", "sluice.rules", "sluice.core")


def test_no_feature_reaches_the_integrations() -> None:
    """Not directly, and not through ``import sluice`` (whose lazy names live in
    sluice.integrations): features read the version from ``sluice._version``."""
    graph = grimp.build_graph("sluice", cache_dir=None)
    reached = {
        feature for feature in FEATURES
        if graph.chain_exists(importer=feature, imported="sluice.integrations",
                              as_packages=True)
    }
    assert not reached, sorted(reached)


def test_rules_reach_no_feature() -> None:
    """Not directly and not through another module: the rules stand on the core alone."""
    graph = grimp.build_graph("sluice", cache_dir=None)
    features = ("sluice.lint", "sluice.check", "sluice.trace", "sluice.runner", "sluice.data",
                "sluice.policy", "sluice.graph", "sluice.output", "sluice.integrations")
    reached = {
        feature for feature in features
        if graph.chain_exists(importer="sluice.rules", imported=feature, as_packages=True)
    }
    assert not reached, sorted(reached)
