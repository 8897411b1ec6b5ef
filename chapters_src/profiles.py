"""Run profiles: one typed hyperparameter object per profile and chapter.

``CHAPTERS_PROFILE`` selects the profile for a whole run (default ``standard``):

- ``smoke``:    seconds; used by the tests and CI.
- ``standard``: what a laptop CPU builds in minutes while the model still visibly learns (book default).
- ``full``:     the source chapter's exact settings (meant for a GPU).

A chapter declares its settings once::

    @dataclass(frozen=True)
    class ConvSettings:
        epochs: int
        batch_size: int

    SETTINGS = ProfileSet(
        smoke=ConvSettings(epochs=1, batch_size=32),
        standard=ConvSettings(epochs=5, batch_size=64),
        full=ConvSettings(epochs=20, batch_size=128),   # the source chapter's values
    )
    settings = SETTINGS.current()          # picks by CHAPTERS_PROFILE
"""
from __future__ import annotations

import dataclasses
import os
from typing import Generic, TypeVar

PROFILES: tuple[str, ...] = ("smoke", "standard", "full")
DEFAULT_PROFILE = "standard"
ENV_VAR = "CHAPTERS_PROFILE"

T = TypeVar("T")


def validate_profile(name: str) -> str:
    """Return ``name`` normalised (stripped, lower case) or raise ``ValueError`` listing the valid profiles."""
    if not isinstance(name, str):
        raise ValueError(f"profile must be a string, one of {', '.join(PROFILES)}; got {name!r}")
    normalised = name.strip().lower()
    if normalised not in PROFILES:
        raise ValueError(
            f"unknown profile {name!r} (from {ENV_VAR} or an argument); valid profiles: {', '.join(PROFILES)}"
        )
    return normalised


def current_profile() -> str:
    """The active profile: ``$CHAPTERS_PROFILE`` if set and non-empty, else ``standard``."""
    value = os.environ.get(ENV_VAR, "")
    return validate_profile(value) if value.strip() else DEFAULT_PROFILE


class ProfileSet(Generic[T]):
    """The three settings objects of one chapter, all instances of the same frozen dataclass."""

    def __init__(self, *, smoke: T, standard: T, full: T):
        values = {"smoke": smoke, "standard": standard, "full": full}
        kinds = {type(value) for value in values.values()}
        if len(kinds) != 1:
            raise ValueError(f"smoke, standard and full must share one settings class; got {sorted(k.__name__ for k in kinds)}")
        (kind,) = kinds
        if not dataclasses.is_dataclass(kind):
            raise ValueError(f"settings must be a dataclass instance; got {kind.__name__}")
        self._values = values
        self.settings_class = kind

    def get(self, profile: str) -> T:
        """Settings of ``profile`` (``ValueError`` for an unknown name)."""
        return self._values[validate_profile(profile)]

    def current(self) -> T:
        """Settings of the active profile (see :func:`current_profile`)."""
        return self._values[current_profile()]

    def table(self) -> list[dict]:
        """One row per field: ``{"setting": name, "smoke": ..., "standard": ..., "full": ...}``, for the notebook."""
        rows = []
        for field in dataclasses.fields(self.settings_class):
            row = {"setting": field.name}
            row.update({profile: getattr(self._values[profile], field.name) for profile in PROFILES})
            rows.append(row)
        return rows

    def __repr__(self) -> str:
        return f"ProfileSet({self.settings_class.__name__}: {', '.join(PROFILES)})"
