"""Building blocks shared by the linter, the runner and the checks."""
