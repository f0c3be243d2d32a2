"""``python -m sluice``: the ``sluice`` command line."""

from sluice.integrations.cli.fast import run

if __name__ == "__main__":
    run(prog_name="sluice")
