"""Errors of the data stage (fetch, parse, harmonize), raised in one place."""

from __future__ import annotations

from obsscale.exceptions import ObsscaleError


class HarmonizeError(ObsscaleError, RuntimeError):
    """Harmonization cannot proceed (e.g. the curated table was never fetched)."""


class DataLockError(ObsscaleError, TimeoutError):
    """Another run holds the data folder's lock for longer than the configured wait."""
