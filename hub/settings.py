"""Salon's settings: one declaration each, read from ``SALON_*`` environment variables over an
optional ``.env`` file (pydantic-settings does the reading and the type checks).

Each field of :class:`Settings` is a setting: its type, default and a line of help. The README
lists them all and a test checks that it does; ``salon settings`` prints the effective values.
Secrets are ``SecretStr``: no repr, log line or error shows them (``.get_secret_value()`` does).
The hub, the CLI, the dashboard and the notebook client all read their settings here.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SALON_"
_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$")


class SettingsError(ValueError):
    """A ``SALON_*`` variable holds a value that cannot be used."""


class Settings(BaseSettings):
    """Salon's configuration, immutable once read. ``load_settings()`` reads it as commands do
    (with ``.env``); ``Settings(field=value)`` sets fields over the environment (tests)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    data_dir: Path = Field(
        Path("./.salon"), description="Folder holding the DuckDB file and stored objects."
    )
    database_url: SecretStr = Field(
        SecretStr(""),
        description="PostgreSQL database that several hubs share, e.g. "
        "postgresql://salon:secret@db.internal:5432/salon; empty: the DuckDB file in "
        "SALON_DATA_DIR, for one hub.",
    )
    database_connections: int = Field(
        12,
        ge=1,
        le=500,
        description="Connections each hub keeps open to the database of SALON_DATABASE_URL; "
        "all hubs together must stay under PostgreSQL's max_connections (100 by default).",
    )
    host: str = Field("127.0.0.1", description="Address the hub binds to.")
    port: int = Field(8000, description="Port of the hub (GraphQL at /graphql).")
    dashboard_port: int = Field(
        8501, description="Port of the Streamlit dashboard started by `salon up`."
    )
    admin_token: SecretStr = Field(
        SecretStr(""),
        description=(
            "Bootstrap admin API token. When empty, `salon up` generates one and prints it."
        ),
    )
    url: str = Field(
        "http://127.0.0.1:8000",
        description=(
            "The hub's address as clients reach it (default: from SALON_HOST and SALON_PORT): used"
            " by the Python client and dashboard, and the issuer of the hub's sign-in tokens."
        ),
    )
    dashboard_url: str = Field(
        "http://127.0.0.1:8501",
        description=(
            "The dashboard's address as browsers reach it, where sign-in returns to (default: from"
            " SALON_HOST and SALON_DASHBOARD_PORT)."
        ),
    )
    token: SecretStr = Field(
        SecretStr(""), description="API token used by the Python client and dashboard."
    )
    embed_origins: str = Field(
        "",
        description=(
            "Wiki origins allowed to frame share links' views, separated by commas "
            "(https://acme.atlassian.net, https://*.notion.site); empty: only Salon's own pages. "
            "Every other dashboard page refuses to be framed."
        ),
    )
    embed_refresh_seconds: int = Field(
        300,
        description=(
            "How often a shared view open in a wiki redraws itself from the hub (which checks its "
            "link again each time, so a revoke shows there within this time)."
        ),
    )
    max_page_size: int = Field(500, description="Largest page a list query may ask for.")
    max_upload_bytes: int = Field(
        268_435_456, description="Largest request body accepted by bulk endpoints."
    )
    graphql_max_depth: int = Field(12, description="Deepest GraphQL selection accepted.")
    graphql_max_aliases: int = Field(
        40, description="Most aliases accepted in one GraphQL document."
    )
    graphql_max_tokens: int = Field(
        4000, description="Most tokens accepted in one GraphQL document."
    )
    graphql_max_cost: int = Field(
        200_000,
        description=(
            "Largest estimated cost (field reads, lists counted by their page size) of a GraphQL "
            "document."
        ),
    )
    mlflow_project: str = Field(
        "mlflow",
        description=(
            "Project that MLflow experiment and model names without a project prefix belong to (a "
            "token scoped to one project uses that project instead)."
        ),
    )
    max_artifact_bytes: int = Field(
        4_294_967_296, description="Largest single file accepted by the MLflow artifact proxy."
    )
    max_dataset_bytes: int = Field(
        4_294_967_296,
        description="Largest data file (CSV or Parquet) accepted in one dataset upload.",
    )
    dataset_roots: str = Field(
        "",
        description=(
            "Folders on the hub's machine, and S3 prefixes (s3://bucket/folder/), whose Parquet "
            "files may be registered as dataset versions without copying (comma-separated; empty: "
            "off)."
        ),
    )
    object_store: str = Field(
        "",
        description=(
            "Where dataset versions and artifacts are kept, for every hub: s3://bucket/prefix "
            "(with the SALON_S3_* settings) or a folder every hub mounts; empty: "
            "SALON_DATA_DIR/objects."
        ),
    )
    s3_endpoint: str = Field(
        "",
        description=(
            "The S3 API's address for S3-compatible stores such as MinIO (http://127.0.0.1:9000); "
            "empty: AWS."
        ),
    )
    s3_region: str = Field(
        "us-east-1",
        description="The S3 region of the buckets in SALON_DATASET_ROOTS and SALON_OBJECT_STORE.",
    )
    s3_access_key_id: str = Field("", description="Access key the hub uses S3 with.")
    s3_secret_access_key: SecretStr = Field(
        SecretStr(""), description="Secret key the hub uses S3 with."
    )
    s3_url_style: str = Field(
        "",
        description=(
            "path or vhost addressing of buckets (default: path with SALON_S3_ENDPOINT, else "
            "vhost)."
        ),
    )
    dataset_worker_memory_mb: int = Field(
        2048,
        description=(
            "Memory (address space) the process that reads an upload may use; DuckDB in it "
            "gets half."
        ),
    )
    dataset_worker_seconds: float = Field(
        900.0, description="Time the process that reads an upload may take."
    )
    duckdb_memory_limit: str = Field("768MB", description="DuckDB's memory limit inside the hub.")
    backup_folder: str = Field(
        "",
        description=(
            "A folder on the hub's machine for scheduled backups (outside SALON_DATA_DIR); empty: "
            "none (salon backup still works)."
        ),
    )
    backup_every_hours: float = Field(24.0, description="How often the scheduled backup runs.")
    backup_keep: int = Field(
        7, description="How many scheduled backups are kept (the oldest go first)."
    )
    trash_days: int = Field(
        30,
        description=(
            "How many days what was moved to the trash stays there, restorable, before the hub "
            "purges it (its rows, metric points and the files nothing else uses)."
        ),
    )
    auto_migrate: bool = Field(
        True,
        description=(
            "Whether the hub applies pending schema migrations at start (after backing the store "
            "up to SALON_DATA_DIR/backups); false: it refuses to start until `salon db upgrade`."
        ),
    )
    duckdb_threads: int = Field(2, description="Threads DuckDB may use for one query.")
    log_level: str = Field(
        "info", description="Log level of the hub: debug, info, warning or error."
    )
    log_format: str = Field(
        "text",
        description=(
            "text, or json: one JSON object a line (time, level, logger, message, request_id) for "
            "log collectors."
        ),
    )
    env: str = Field(
        "development",
        description=(
            "development or production. Production turns off GraphiQL, introspection and field "
            "suggestions."
        ),
    )
    access_token_minutes: int = Field(
        480,
        description=(
            "Lifetime of access tokens from the hub's sign-in (the dashboard signs in again after)."
        ),
    )
    oidc_discovery_url: str = Field(
        "",
        description=(
            "An outside OpenID Connect provider's discovery URL (Okta, Entra ID, Keycloak, "
            "Google); its tokens are then accepted and the dashboard signs in there."
        ),
    )
    oidc_audience: str = Field(
        "",
        description=(
            "Audiences accepted in the outside provider's tokens, comma-separated (default: the "
            "client id)."
        ),
    )
    oidc_client_id: str = Field(
        "", description="The dashboard's client id at the outside provider."
    )
    oidc_client_secret: SecretStr = Field(
        SecretStr(""), description="The dashboard's client secret at the outside provider."
    )
    oidc_forward_token: str = Field(
        "access",
        description=(
            "Which of the outside provider's tokens the dashboard sends to the hub: access, or id "
            "when its access tokens are not JWTs (set SALON_OIDC_AUDIENCE to the client id then)."
        ),
    )
    oidc_groups_claim: str = Field(
        "groups",
        description=(
            "Claim of the outside provider's tokens that lists the person's groups; each names a "
            "Salon group."
        ),
    )
    trusted_proxies: str = Field(
        "",
        description=(
            "Addresses or networks (CIDR, comma-separated) of the reverse proxies in front of the "
            "hub; only from them is X-Forwarded-For believed (its rightmost address not among them"
            " is the caller's). Empty: the header is ignored and the connecting address counts."
        ),
    )
    webhook_allow_networks: str = Field(
        "",
        description=(
            "Networks (CIDR, comma-separated) webhooks may reach besides public addresses, e.g. "
            "10.20.0.0/16 for an internal chat server; empty: public addresses only."
        ),
    )
    webhook_retry_seconds: str = Field(
        "5,30,120,600,1800,3600,10800,21600",
        description=(
            "Pauses before each retry of a failed webhook delivery; after the last, the message is"
            " given up."
        ),
    )
    webhook_disable_after: int = Field(
        15,
        description=(
            "Failed deliveries in a row after which a webhook is disabled (a maintainer re-enables"
            " it)."
        ),
    )
    webhook_timeout_seconds: float = Field(
        10.0, description="How long a webhook receiver has to answer."
    )
    ray_address: str = Field(
        "",
        description=(
            "The Ray cluster's dashboard address (http://head:8265) the hub samples and submits "
            "jobs to; empty: no cluster (salon up starts a local one unless "
            "SALON_RAY_START=false)."
        ),
    )
    ray_token: SecretStr = Field(
        SecretStr(""),
        description=(
            "The token of a Ray cluster that runs with Ray's token authentication "
            "(RAY_AUTH_MODE=token), sent with every call to its dashboard; salon up's local head "
            "makes its own."
        ),
    )
    ray_start: bool = Field(
        True,
        description=(
            "Whether salon up starts a local Ray head (127.0.0.1, SALON_RAY_GPUS logical GPUs) "
            "when SALON_RAY_ADDRESS is empty."
        ),
    )
    ray_gpus: int = Field(
        4, description="Logical GPUs the local Ray head declares (the demo's cluster)."
    )
    ray_sample_seconds: float = Field(
        30.0,
        description="How often the hub samples the cluster's nodes and jobs (every second "
        "for 30 s after a job is submitted or stopped through Salon).",
    )
    booking_grace_minutes: int = Field(
        30,
        description=(
            "A GPU booking with nothing of its project running on the cluster this long into it is"
            " released for others."
        ),
    )
    ray_retention_days: int = Field(
        400, description="How long node samples are kept (jobs are kept always)."
    )
    smtp_url: SecretStr = Field(
        SecretStr(""),
        description=(
            "Where digests are mailed: smtp://user:password@host:587 (STARTTLS when offered) or "
            "smtps://…:465; empty: digests are written to SALON_DIGEST_FOLDER instead."
        ),
    )
    smtp_from: str = Field("Salon <salon@localhost>", description="The From of digest e-mails.")
    digest_folder: str = Field(
        "",
        description=(
            "Folder digests are written to when no SMTP server is set (default: <data "
            "dir>/digests)."
        ),
    )
    digest_check_seconds: int = Field(
        300, description="How often the hub looks for digests that are due."
    )
    audit_checkpoint_seconds: int = Field(
        60,
        description=(
            "How often the hub signs the audit chain's head into <data dir>/audit-checkpoint.jws "
            "(with a shared database: into the database, by one hub) and re-reads its signing keys."
        ),
    )
    auth_failures_per_address: str = Field(
        "30/minute",
        description="Failed sign-ins and token guesses allowed per client address (then 429).",
    )
    auth_failures_per_account: str = Field(
        "5/minute", description="Failed sign-ins allowed per account name (then 429)."
    )

    @model_validator(mode="before")
    @classmethod
    def _addresses_follow_host_and_ports(cls, values: Any) -> Any:
        """Unless set, the addresses follow the host and ports (so `--port 9000` needs nothing
        else)."""
        if not isinstance(values, dict):
            return values
        host = values.get("host", cls.model_fields["host"].default)
        if "url" not in values:
            port = values.get("port", cls.model_fields["port"].default)
            values = {**values, "url": f"http://{host}:{port}"}
        if "dashboard_url" not in values:
            port = values.get("dashboard_port", cls.model_fields["dashboard_port"].default)
            values = {**values, "dashboard_url": f"http://{host}:{port}"}
        return values

    @field_validator("embed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in re.split(r"[\s,]+", value.strip()):
            if origin and not _ORIGIN.match(origin.rstrip("/")):
                raise ValueError(
                    f"{origin!r} is not an origin like https://wiki.example.com (scheme, host and "
                    "an optional port; *. for every subdomain)."
                )
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value().strip()
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "not a PostgreSQL URL like postgresql://salon:secret@db.internal:5432/salon "
                "(leave it empty for the DuckDB file in SALON_DATA_DIR)."
            )
        return SecretStr(url)

    @field_validator("object_store")
    @classmethod
    def _object_store(cls, value: str) -> str:
        value = value.strip()
        if "://" in value and not value.startswith("s3://"):
            raise ValueError(
                "not an S3 prefix like s3://bucket/salon or a folder (leave it empty for "
                "SALON_DATA_DIR/objects)."
            )
        if value.startswith("s3://") and not value.removeprefix("s3://").strip("/"):
            raise ValueError("an S3 prefix names its bucket: s3://bucket or s3://bucket/salon.")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for proxy in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"{proxy!r} is not an IP address or a network like 10.0.0.0/8."
                ) from None
        return value

    @field_validator("embed_refresh_seconds")
    @classmethod
    def _refresh(cls, value: int) -> int:
        if value < 5:
            raise ValueError("at least 5 (each redraw asks the hub).")
        return value

    @field_validator("backup_every_hours")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be above 0.")
        return value

    @field_validator("backup_keep", "trash_days")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("at least 1.")
        return value

    @field_validator("oidc_forward_token", "log_format", "env")
    @classmethod
    def _one_of(cls, value: str, info: Any) -> str:
        allowed = _CHOICES[info.field_name]
        if value not in allowed:
            raise ValueError(f"use {' or '.join(allowed)}.")
        return value

    @property
    def oidc_audiences(self) -> tuple[str, ...]:
        given = [a.strip() for a in self.oidc_audience.split(",") if a.strip()]
        return tuple(given or ([self.oidc_client_id] if self.oidc_client_id else []))

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "salon.duckdb"

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed, checked as a loaded setting would be (a bad value
        raises SettingsError naming the variable)."""
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise SettingsError(_explain(exc)) from None


_CHOICES = {
    "oidc_forward_token": ("access", "id"),
    "log_format": ("text", "json"),
    "env": ("development", "production"),
}


def env_name(field: str) -> str:
    """The environment variable of a setting: ``data_dir`` is ``SALON_DATA_DIR``."""
    return ENV_PREFIX + field.upper()


def is_secret(field: str) -> bool:
    return Settings.model_fields[field].annotation in (SecretStr, "SecretStr")


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read settings from the environment over an optional .env file; a bad value raises
    :class:`SettingsError` naming the variable and what it takes."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from None


def _explain(error: ValidationError) -> str:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    if field not in Settings.model_fields:
        return str(error)
    declared = Settings.model_fields[field]
    if first["type"] == "value_error":
        return f"{env_name(field)}: {first['ctx']['error']}"
    kind = getattr(declared.annotation, "__name__", str(declared.annotation))
    return f"{env_name(field)}={first['input']!r} is not a valid {kind}: {declared.description}"
