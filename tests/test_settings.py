"""Settings: read once, validated, and every one documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.settings import Settings, SettingsError, env_name, load_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_lists_every_setting() -> None:
    text = README.read_text()
    missing = [env_name(f) for f in Settings.model_fields if f"`{env_name(f)}`" not in text]
    assert not missing, f"document these settings in README.md: {missing}"


def test_defaults_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(env_file=None)
    assert (settings.port, str(settings.data_dir)) == (8000, ".salon")
    env_file = tmp_path / ".env"
    env_file.write_text("SALON_PORT=9001\nSALON_DATA_DIR=/from/env-file\n")
    monkeypatch.setenv("SALON_PORT", "9002")
    settings = load_settings(env_file=env_file)
    assert settings.port == 9002, "the environment wins over .env"
    assert settings.database_path == Path("/from/env-file/salon.duckdb")


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALON_PORT", "eighty")
    with pytest.raises(SettingsError, match="SALON_PORT='eighty' is not a valid int"):
        load_settings(env_file=None)


def test_secrets_stay_out_of_what_settings_print(monkeypatch: pytest.MonkeyPatch) -> None:
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
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env_file=None)
    shown = f"{settings!r} {settings} {settings.model_dump()} {settings.smtp_url}"
    assert not [value for value in secrets.values() if value in shown], shown
    assert "password-6" not in shown and "data_dir=" in shown
    assert settings.admin_token.get_secret_value() == "salon_admin-secret-1"
    assert settings.ray_token.get_secret_value() == "ray-secret-5"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("gs://bucket/salon", "not an S3 prefix like s3://bucket/salon or a folder"),
        ("https://minio.internal/salon", "not an S3 prefix"),
        ("s3://", "an S3 prefix names its bucket"),
        ("s3:///", "an S3 prefix names its bucket"),
    ],
)
def test_an_object_store_is_a_folder_or_an_s3_prefix(
    monkeypatch: pytest.MonkeyPatch, value: str, words: str
) -> None:
    monkeypatch.setenv("SALON_OBJECT_STORE", value)
    with pytest.raises(SettingsError, match="SALON_OBJECT_STORE") as caught:
        load_settings(env_file=None)
    assert words in str(caught.value)
    for good in ("s3://ml-platform/salon", "/mnt/salon-objects", ""):
        monkeypatch.setenv("SALON_OBJECT_STORE", f" {good} ")
        assert load_settings(env_file=None).object_store == good
