from dataclasses import dataclass

import pytest

from chapters_src import profiles


@dataclass(frozen=True)
class Settings:
    epochs: int
    batch_size: int


@dataclass(frozen=True)
class Other:
    epochs: int


SETTINGS = profiles.ProfileSet(
    smoke=Settings(epochs=1, batch_size=8),
    standard=Settings(epochs=5, batch_size=32),
    full=Settings(epochs=20, batch_size=128),
)


def test_default_profile_is_standard(monkeypatch):
    monkeypatch.delenv("CHAPTERS_PROFILE", raising=False)
    assert profiles.current_profile() == "standard"
    assert SETTINGS.current() == Settings(epochs=5, batch_size=32)


@pytest.mark.parametrize("name, epochs", [("smoke", 1), ("standard", 5), ("full", 20), (" FULL ", 20)])
def test_environment_variable_selects_the_profile(monkeypatch, name, epochs):
    monkeypatch.setenv("CHAPTERS_PROFILE", name)
    assert SETTINGS.current().epochs == epochs


def test_unknown_profile_is_a_clear_error_listing_valid_ones(monkeypatch):
    monkeypatch.setenv("CHAPTERS_PROFILE", "fast")
    with pytest.raises(ValueError) as error:
        profiles.current_profile()
    message = str(error.value)
    assert "'fast'" in message and "smoke, standard, full" in message
    with pytest.raises(ValueError, match="valid profiles"):
        SETTINGS.get("gpu")


def test_mixed_settings_classes_are_rejected():
    with pytest.raises(ValueError, match="one settings class"):
        profiles.ProfileSet(smoke=Settings(1, 1), standard=Other(2), full=Settings(3, 3))
    with pytest.raises(ValueError, match="dataclass"):
        profiles.ProfileSet(smoke=1, standard=2, full=3)


def test_table_lists_every_field_for_every_profile():
    assert SETTINGS.table() == [
        {"setting": "epochs", "smoke": 1, "standard": 5, "full": 20},
        {"setting": "batch_size", "smoke": 8, "standard": 32, "full": 128},
    ]
