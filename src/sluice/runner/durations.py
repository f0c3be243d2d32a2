"""Moved to :mod:`sluice.core.durations`; kept while the last importers move over."""

from sluice.core.durations import format_duration, parse_duration

__all__ = ["format_duration", "parse_duration"]
