"""``python -m sluice``: the ``sluice`` command line."""

from sluice.integrations.cli import main

if __name__ == "__main__":
    main(prog_name="sluice")
