"""configure_options: a keyword that nearly spells a context.configure parameter is a typo
Alembic would ignore without a word; it is a one-line error with a did-you-mean. Other
keywords pass through to Alembic's context.opts, as context.configure(**kw) keeps them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sluice.errors import SluiceError
from sluice.integrations.envhooks import configure_options
from tests.support.project import cfg


@pytest.mark.parametrize(("typo", "meant"), [("include_objects", "include_object"),
                                             ("compare_types", "compare_type"),
                                             ("version_tabel", "version_table")])
def test_a_near_miss_is_an_error(shop: Path, typo: str, meant: str) -> None:
    config = cfg(shop, "sqlite://")
    line = sys._getframe().f_lineno + 2  # the call's line, as env.py's would be named
    with pytest.raises(SluiceError) as caught:
        configure_options(config, **{typo: None})
    where = f"{Path(__file__).resolve().relative_to(Path.cwd())}:{line}"
    assert str(caught.value) == (f"{where}: configure_options({typo}=...): not a parameter of "
                                 "context.configure or configure_options; did you mean "
                                 f"{meant}=...?")


def test_real_and_custom_keywords_pass(shop: Path) -> None:
    options = configure_options(cfg(shop, "sqlite://"), compare_type=False,
                                version_table="my_version", my_team_flag=1)
    assert options["compare_type"] is False and options["version_table"] == "my_version"
    assert options["my_team_flag"] == 1
