"""Salon's settings: read once from ``SALON_*`` environment variables (and an optional ``.env``).

Every setting is a row in ``SETTINGS``: its name, default and a line of help. The README lists
them all, and a test checks that it does. Nothing else in Salon reads ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values


@dataclasses.dataclass(frozen=True)
class Setting:
    """One configurable value: the field name on :class:`Settings`, its default and help."""

    name: str
    default: str
    help: str

    @property
    def env(self) -> str:
        return "SALON_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "./.salon", "Folder holding the DuckDB file and stored objects."),
    Setting("host", "127.0.0.1", "Address the hub binds to."),
    Setting("port", "8000", "Port of the hub (GraphQL at /graphql)."),
    Setting("dashboard_port", "8501", "Port of the Streamlit dashboard started by `salon up`."),
    Setting(
        "admin_token",
        "",
        "Bootstrap admin API token. When empty, `salon up` generates one and prints it.",
    ),
    Setting(
        "url",
        "http://127.0.0.1:8000",
        "The hub's address as clients reach it (default: from SALON_HOST and SALON_PORT): used "
        "by the Python client and dashboard, and the issuer of the hub's sign-in tokens.",
    ),
    Setting(
        "dashboard_url",
        "http://127.0.0.1:8501",
        "The dashboard's address as browsers reach it, where sign-in returns to (default: from "
        "SALON_HOST and SALON_DASHBOARD_PORT).",
    ),
    Setting("token", "", "API token used by the Python client and dashboard."),
    Setting(
        "embed_origins",
        "",
        "Wiki origins allowed to frame share links' views, separated by commas "
        "(https://acme.atlassian.net, https://*.notion.site); empty: only Salon's own pages. "
        "Every other dashboard page refuses to be framed.",
    ),
    Setting(
        "embed_refresh_seconds",
        "300",
        "How often a shared view open in a wiki redraws itself from the hub (which checks its "
        "link again each time, so a revoke shows there within this time).",
    ),
    Setting("max_page_size", "500", "Largest page a list query may ask for."),
    Setting("max_upload_bytes", "268435456", "Largest request body accepted by bulk endpoints."),
    Setting("graphql_max_depth", "12", "Deepest GraphQL selection accepted."),
    Setting("graphql_max_aliases", "40", "Most aliases accepted in one GraphQL document."),
    Setting("graphql_max_tokens", "4000", "Most tokens accepted in one GraphQL document."),
    Setting(
        "graphql_max_cost",
        "200000",
        "Largest estimated cost (field reads, lists counted by their page size) of a GraphQL "
        "document.",
    ),
    Setting(
        "mlflow_project",
        "mlflow",
        "Project that MLflow experiment and model names without a project prefix belong to "
        "(a token scoped to one project uses that project instead).",
    ),
    Setting(
        "max_artifact_bytes",
        "4294967296",
        "Largest single file accepted by the MLflow artifact proxy.",
    ),
    Setting(
        "max_dataset_bytes",
        "4294967296",
        "Largest data file (CSV or Parquet) accepted in one dataset upload.",
    ),
    Setting(
        "dataset_roots",
        "",
        "Folders on the hub's machine, and S3 prefixes (s3://bucket/folder/), whose Parquet "
        "files may be registered as dataset versions without copying (comma-separated; empty: "
        "off).",
    ),
    Setting(
        "s3_endpoint",
        "",
        "The S3 API's address for S3-compatible stores such as MinIO "
        "(http://127.0.0.1:9000); empty: AWS.",
    ),
    Setting("s3_region", "us-east-1", "The S3 region of the buckets in SALON_DATASET_ROOTS."),
    Setting("s3_access_key_id", "", "Access key the hub reads S3 with."),
    Setting("s3_secret_access_key", "", "Secret key the hub reads S3 with."),
    Setting(
        "s3_url_style",
        "",
        "path or vhost addressing of buckets (default: path with SALON_S3_ENDPOINT, else vhost).",
    ),
    Setting(
        "dataset_worker_memory_mb",
        "2048",
        "Memory (address space) the process that reads an upload may use.",
    ),
    Setting(
        "dataset_worker_seconds",
        "900",
        "Time the process that reads an upload may take.",
    ),
    Setting("duckdb_memory_limit", "768MB", "DuckDB's memory limit inside the hub."),
    Setting(
        "backup_folder",
        "",
        "A folder on the hub's machine for scheduled backups (outside SALON_DATA_DIR); empty: "
        "none (salon backup still works).",
    ),
    Setting("backup_every_hours", "24", "How often the scheduled backup runs."),
    Setting("backup_keep", "7", "How many scheduled backups are kept (the oldest go first)."),
    Setting(
        "auto_migrate",
        "true",
        "Whether the hub applies pending schema migrations at start (after backing the store up "
        "to SALON_DATA_DIR/backups); false: it refuses to start until `salon db upgrade`.",
    ),
    Setting("duckdb_threads", "2", "Threads DuckDB may use for one query."),
    Setting("log_level", "info", "Log level of the hub: debug, info, warning or error."),
    Setting(
        "log_format",
        "text",
        "text, or json: one JSON object a line (time, level, logger, message, request_id) for "
        "log collectors.",
    ),
    Setting(
        "env",
        "development",
        "development or production. Production turns off GraphiQL, introspection and field "
        "suggestions.",
    ),
    Setting(
        "access_token_minutes",
        "480",
        "Lifetime of access tokens from the hub's sign-in (the dashboard signs in again after).",
    ),
    Setting(
        "oidc_discovery_url",
        "",
        "An outside OpenID Connect provider's discovery URL (Okta, Entra ID, Keycloak, Google); "
        "its tokens are then accepted and the dashboard signs in there.",
    ),
    Setting(
        "oidc_audience",
        "",
        "Audiences accepted in the outside provider's tokens, comma-separated (default: the "
        "client id).",
    ),
    Setting("oidc_client_id", "", "The dashboard's client id at the outside provider."),
    Setting("oidc_client_secret", "", "The dashboard's client secret at the outside provider."),
    Setting(
        "oidc_forward_token",
        "access",
        "Which of the outside provider's tokens the dashboard sends to the hub: access, or id "
        "when its access tokens are not JWTs (set SALON_OIDC_AUDIENCE to the client id then).",
    ),
    Setting(
        "oidc_groups_claim",
        "groups",
        "Claim of the outside provider's tokens that lists the person's groups; each names a "
        "Salon group.",
    ),
    Setting(
        "trusted_proxies",
        "",
        "Addresses or networks (CIDR, comma-separated) of the reverse proxies in front of the "
        "hub; only from them is X-Forwarded-For believed (its rightmost address not among "
        "them is the caller's). Empty: the header is ignored and the connecting address counts.",
    ),
    Setting(
        "webhook_allow_networks",
        "",
        "Networks (CIDR, comma-separated) webhooks may reach besides public addresses, e.g. "
        "10.20.0.0/16 for an internal chat server; empty: public addresses only.",
    ),
    Setting(
        "webhook_retry_seconds",
        "5,30,120,600,1800,3600,10800,21600",
        "Pauses before each retry of a failed webhook delivery; after the last, the message is "
        "given up.",
    ),
    Setting(
        "webhook_disable_after",
        "15",
        "Failed deliveries in a row after which a webhook is disabled (a maintainer re-enables "
        "it).",
    ),
    Setting("webhook_timeout_seconds", "10", "How long a webhook receiver has to answer."),
    Setting(
        "ray_address",
        "",
        "The Ray cluster's dashboard address (http://head:8265) the hub samples and submits "
        "jobs to; empty: no cluster (salon up starts a local one unless SALON_RAY_START=false).",
    ),
    Setting(
        "ray_token",
        "",
        "The token of a Ray cluster that runs with Ray's token authentication "
        "(RAY_AUTH_MODE=token), sent with every call to its dashboard; salon up's local head "
        "makes its own.",
    ),
    Setting(
        "ray_start",
        "true",
        "Whether salon up starts a local Ray head (127.0.0.1, SALON_RAY_GPUS logical GPUs) "
        "when SALON_RAY_ADDRESS is empty.",
    ),
    Setting("ray_gpus", "4", "Logical GPUs the local Ray head declares (the demo's cluster)."),
    Setting("ray_sample_seconds", "30", "How often the hub samples the cluster's nodes and jobs."),
    Setting(
        "booking_grace_minutes",
        "30",
        "A GPU booking with nothing of its project running on the cluster this long into it is "
        "released for others.",
    ),
    Setting("ray_retention_days", "400", "How long node samples are kept (jobs are kept always)."),
    Setting(
        "smtp_url",
        "",
        "Where digests are mailed: smtp://user:password@host:587 (STARTTLS when offered) or "
        "smtps://…:465; empty: digests are written to SALON_DIGEST_FOLDER instead.",
    ),
    Setting("smtp_from", "Salon <salon@localhost>", "The From of digest e-mails."),
    Setting(
        "digest_folder",
        "",
        "Folder digests are written to when no SMTP server is set (default: <data dir>/digests).",
    ),
    Setting("digest_check_seconds", "300", "How often the hub looks for digests that are due."),
    Setting(
        "audit_checkpoint_seconds",
        "60",
        "How often the hub signs the audit chain's head into <data dir>/audit-checkpoint.jws.",
    ),
    Setting(
        "auth_failures_per_address",
        "30/minute",
        "Failed sign-ins and token guesses allowed per client address (then 429).",
    ),
    Setting(
        "auth_failures_per_account",
        "5/minute",
        "Failed sign-ins allowed per account name (then 429).",
    ),
)


# Secrets (tokens, keys, passwords in URLs) are left out of repr(), so that no log line, error
# or traceback that shows the settings shows them.
def secret() -> Any:
    return dataclasses.field(default="", repr=False)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The hub's configuration, immutable once read. Build it with :func:`load_settings`."""

    data_dir: Path = Path("./.salon")
    host: str = "127.0.0.1"
    port: int = 8000
    dashboard_port: int = 8501
    admin_token: str = secret()
    url: str = "http://127.0.0.1:8000"
    dashboard_url: str = "http://127.0.0.1:8501"
    token: str = secret()
    embed_origins: str = ""
    embed_refresh_seconds: int = 300
    max_page_size: int = 500
    max_upload_bytes: int = 268_435_456
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 40
    graphql_max_tokens: int = 4000
    graphql_max_cost: int = 200_000
    mlflow_project: str = "mlflow"
    max_artifact_bytes: int = 4_294_967_296
    max_dataset_bytes: int = 4_294_967_296
    dataset_roots: str = ""
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = secret()
    s3_url_style: str = ""
    dataset_worker_memory_mb: int = 2048
    dataset_worker_seconds: int = 900
    duckdb_memory_limit: str = "768MB"
    auto_migrate: bool = True
    backup_folder: str = ""
    backup_every_hours: float = 24.0
    backup_keep: int = 7
    duckdb_threads: int = 2
    log_level: str = "info"
    log_format: str = "text"
    env: str = "development"
    access_token_minutes: int = 480
    oidc_discovery_url: str = ""
    oidc_audience: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = secret()
    oidc_forward_token: str = "access"
    oidc_groups_claim: str = "groups"
    trusted_proxies: str = ""
    webhook_allow_networks: str = ""
    webhook_retry_seconds: str = "5,30,120,600,1800,3600,10800,21600"
    webhook_disable_after: int = 15
    webhook_timeout_seconds: float = 10.0
    ray_address: str = ""
    ray_token: str = secret()
    ray_start: bool = True
    ray_gpus: int = 4
    ray_sample_seconds: float = 30.0
    ray_retention_days: int = 400
    booking_grace_minutes: int = 30
    smtp_url: str = secret()
    smtp_from: str = "Salon <salon@localhost>"
    digest_folder: str = ""
    digest_check_seconds: int = 300
    audit_checkpoint_seconds: int = 60
    auth_failures_per_address: str = "30/minute"
    auth_failures_per_account: str = "5/minute"

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
        return dataclasses.replace(self, **changes)


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{text!r} is neither true nor false")


_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$")


class SettingsError(ValueError):
    """A ``SALON_*`` variable holds a value that cannot be used."""


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Read settings from ``environ`` (default: the process environment) over an optional .env."""
    source: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        source.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    source.update(os.environ if environ is None else environ)
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = source.get(setting.env, setting.default)
        kind = type(getattr(Settings, setting.name))
        try:
            values[setting.name] = _flag(raw) if kind is bool else kind(raw)
        except ValueError as exc:
            raise SettingsError(
                f"{setting.env}={raw!r} is not a valid {kind.__name__}: {setting.help}"
            ) from exc
    assert set(values) == set(fields), "SETTINGS and Settings must list the same names"
    # Unless set, the addresses follow the host and ports (so `--port 9000` needs nothing else).
    if "SALON_URL" not in source:
        values["url"] = f"http://{values['host']}:{values['port']}"
    if "SALON_DASHBOARD_URL" not in source:
        values["dashboard_url"] = f"http://{values['host']}:{values['dashboard_port']}"
    bad = [
        o
        for o in re.split(r"[\s,]+", values["embed_origins"].strip())
        if o and not _ORIGIN.match(o.rstrip("/"))
    ]
    if bad:
        raise SettingsError(
            f"SALON_EMBED_ORIGINS: {bad[0]!r} is not an origin like https://wiki.example.com "
            "(scheme, host and an optional port; *. for every subdomain)."
        )
    for proxy in filter(None, (p.strip() for p in values["trusted_proxies"].split(","))):
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise SettingsError(
                f"SALON_TRUSTED_PROXIES: {proxy!r} is not an IP address or a network like "
                "10.0.0.0/8."
            ) from None
    if values["embed_refresh_seconds"] < 5:
        raise SettingsError("SALON_EMBED_REFRESH_SECONDS: at least 5 (each redraw asks the hub).")
    if values["oidc_forward_token"] not in ("access", "id"):
        raise SettingsError("SALON_OIDC_FORWARD_TOKEN: use access or id.")
    if values["backup_every_hours"] <= 0 or values["backup_keep"] < 1:
        raise SettingsError(
            "SALON_BACKUP_EVERY_HOURS must be above 0 and SALON_BACKUP_KEEP at least 1."
        )
    if values["log_format"] not in ("text", "json"):
        raise SettingsError(f"SALON_LOG_FORMAT={values['log_format']!r}: use text or json.")
    if values["env"] not in ("development", "production"):
        raise SettingsError(f"SALON_ENV={values['env']!r}: use development or production.")
    return Settings(**values)
