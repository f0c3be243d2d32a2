"""An environment name given in the wrong case or with stray spaces (`--env PROD`,
`-x env="prod "` from a quoted variable) is refused, naming the configured one."""

from __future__ import annotations

import pytest

from sluice.config import parse_config
from sluice.environments import validate_name
from sluice.errors import ConfigError

CONFIG = parse_config({"environments": ["dev", "staging", "prod"]})


@pytest.mark.parametrize(("given", "meant"), [("PROD", "prod"), ("Staging", "staging"),
                                              ("prod ", "prod"), (" dev", "dev"), ("prd", "prod")])
def test_the_configured_name_is_suggested(given: str, meant: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_name(CONFIG, given, origin="--env")
    assert f"did you mean '{meant}'?" in str(err.value)


def test_no_suggestion_for_a_name_unlike_any() -> None:
    with pytest.raises(ConfigError) as err:
        validate_name(CONFIG, "qa", origin="--env")
    assert "did you mean" not in str(err.value)
