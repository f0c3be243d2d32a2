"""The version of Sluice, in one place that imports nothing (features read it from here,
not from the package root, whose lazy names reach the integrations)."""

__version__ = "0.1.0"
