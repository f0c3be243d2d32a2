"""`-x allow=` and SLUICE_ALLOW tokens are checked: a malformed token or an unknown
operation is one line with a did-you-mean; a token that allowed nothing is named when the
operation it was meant for is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.errors import ConfigError
from sluice.policy.base import parse_allowances
from tests.support.project import autogenerate, drop_legacy_field, upgrade


@pytest.mark.parametrize(("x_args", "environ", "message"), [
    (["allow=drop_colum:users.email"], {},
     "-x allow=drop_colum:users.email: unknown operation 'drop_colum'; did you mean "
     "drop_column:users.email?"),
    (["allow=users.x"], {}, "-x allow=users.x: not KIND:TARGET"),
    (["allow="], {}, "-x allow=: no token"),
    ([], {"SLUICE_ALLOW": "::"}, "SLUICE_ALLOW=::: not KIND:TARGET"),
    ([], {"SLUICE_ALLOW": " , "}, "SLUICE_ALLOW=' , ': no token"),
])
def test_malformed_tokens_are_one_line_errors(x_args: list[str], environ: dict[str, str],
                                              message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_allowances(x_args, environ)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_well_formed_tokens_and_globs_pass() -> None:
    found = parse_allowances(["allow=drop_column:users.*,drop_*:orders"],
                             {"SLUICE_ALLOW": "drop_index:orders.ix_old"})
    assert [a.pattern for a in found] == ["drop_column:users.*", "drop_*:orders",
                                          "drop_index:orders.ix_old"]


def test_a_token_that_matched_nothing_is_named_with_the_refusal(shop: Path) -> None:
    url = f"sqlite:///{shop / 'shop.db'}"
    upgrade(shop, url)
    drop_legacy_field(shop)
    with pytest.raises(Exception) as caught:
        autogenerate(shop, url, "allow=drop_column:users.legacy_feld")
    text = str(caught.value)
    assert "refused 1 dangerous operation" in text
    assert ("allow token 'drop_column:users.legacy_feld' (-x allow=drop_column:users."
            "legacy_feld) matched nothing (did you mean drop_column:users.legacy_field?)"
            in text), text


def test_a_bad_token_stops_autogenerate(shop: Path) -> None:
    url = f"sqlite:///{shop / 'shop.db'}"
    upgrade(shop, url)
    drop_legacy_field(shop)
    with pytest.raises(Exception, match="unknown operation 'drop_colum'"):
        autogenerate(shop, url, "allow=drop_colum:users.legacy_field")
