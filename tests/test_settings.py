"""Settings: read once, validated, and every one documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.settings import SETTINGS, SettingsError, load_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_lists_every_setting() -> None:
    text = README.read_text()
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in text]
    assert not missing, f"document these settings in README.md: {missing}"


def test_defaults_and_overrides(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=None)
    assert (settings.port, str(settings.data_dir)) == (8000, ".salon")
    env_file = tmp_path / ".env"
    env_file.write_text("SALON_PORT=9001\nSALON_DATA_DIR=/from/env-file\n")
    settings = load_settings({"SALON_PORT": "9002"}, env_file=env_file)
    assert settings.port == 9002, "the environment wins over .env"
    assert settings.database_path == Path("/from/env-file/salon.duckdb")


def test_bad_values_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="SALON_PORT='eighty' is not a valid int"):
        load_settings({"SALON_PORT": "eighty"}, env_file=None)
