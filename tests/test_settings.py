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


def test_secrets_stay_out_of_what_settings_print() -> None:
    """repr() of the settings (in a log line, an error, a traceback) shows no token, key or
    password; the values are there for the code that needs them."""
    secrets = {
        "SALON_ADMIN_TOKEN": "salon_admin-secret-1",
        "SALON_TOKEN": "salon_client-secret-2",
        "SALON_S3_SECRET_ACCESS_KEY": "s3-secret-3",
        "SALON_OIDC_CLIENT_SECRET": "oidc-secret-4",
        "SALON_RAY_TOKEN": "ray-secret-5",
        "SALON_SMTP_URL": "smtp://mail:password-6@mail.example:587",
    }
    settings = load_settings(secrets, env_file=None)
    shown = repr(settings)
    assert not [value for value in secrets.values() if value in shown], shown
    assert "password-6" not in shown and "data_dir=" in shown
    assert settings.admin_token == "salon_admin-secret-1" and settings.ray_token == "ray-secret-5"
