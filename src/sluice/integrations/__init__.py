"""Where Sluice meets its callers: the ``sluice`` command (:mod:`sluice.integrations.cli`)."""
