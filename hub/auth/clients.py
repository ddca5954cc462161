"""Clients registered with the built-in provider, and the dashboard's secrets file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from hub.auth.provider import digest
from hub.domain.identity import ClientRecord
from hub.services.identity import sign_ins
from hub.services.policy.keep import Keep, keep_for
from hub.services.policy.keep import secret as kept_secret
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.store import Store

DASHBOARD_CLIENT_ID = "salon-dashboard"


def dashboard_redirect_uris(settings: Settings) -> tuple[str, ...]:
    """Where the dashboard's sign-in may return: its configured address, and the same port on
    localhost and 127.0.0.1 (people type either)."""
    base = settings.dashboard_url.rstrip("/")
    uris = [f"{base}/oauth2callback"]
    port = f":{settings.dashboard_port}"
    for host in ("127.0.0.1", "localhost"):
        uris.append(f"http://{host}{port}/oauth2callback")
    return tuple(dict.fromkeys(uris))


def ensure_dashboard_client(store: Store, settings: Settings) -> str:
    """Register the dashboard as a confidential client; returns its secret (one for every hub
    sharing the database: whichever hub the dashboard's sign-in reaches knows it)."""
    secret = kept_secret(keep_for(store, settings.data_dir), "dashboard-client-secret")
    client = ClientRecord(
        DASHBOARD_CLIENT_ID, "Salon dashboard", dashboard_redirect_uris(settings), digest(secret)
    )
    sign_ins.register_client(store, client)
    return secret


def dashboard_secrets(settings: Settings, client_secret: str, keep: Keep) -> str:
    """The dashboard's ``secrets.toml``: ``st.login`` at the hub's own provider, or at the
    outside one when configured, forwarding the person's token to the hub."""
    cookie_secret = kept_secret(keep, "dashboard-cookie-secret")
    if settings.oidc_discovery_url:
        client_id = settings.oidc_client_id
        secret = settings.oidc_client_secret.get_secret_value()
        metadata, expose = settings.oidc_discovery_url, settings.oidc_forward_token
    else:
        client_id, secret = DASHBOARD_CLIENT_ID, client_secret
        metadata = f"{settings.url.rstrip('/')}/.well-known/openid-configuration"
        expose = "access"
    values = {
        "redirect_uri": f"{settings.dashboard_url.rstrip('/')}/oauth2callback",
        "cookie_secret": cookie_secret,
        "client_id": client_id,
        "client_secret": secret,
        "server_metadata_url": metadata,
        "expose_tokens": [expose],
    }
    lines = ["# Written by `salon up` at every start; edit the SALON_* settings instead.", "[auth]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def write_dashboard_secrets(settings: Settings, client_secret: str, keep: Keep) -> Path:
    """Write the dashboard's secrets under the data directory (mode 600); returns the path."""
    path = settings.data_dir / "dashboard" / "secrets.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(dashboard_secrets(settings, client_secret, keep))
    return path
