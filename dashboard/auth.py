"""Who is using the dashboard, and which token goes to the hub on their behalf.

When the dashboard is configured to sign people in (an ``[auth]`` section in its secrets, which
``salon up`` writes), everyone signs in with ``st.login`` at the hub's own provider or the
configured outside one, and the dashboard forwards their token to the hub, which decides what
they may see. Without that section (automation, tests), the dashboard uses ``SALON_TOKEN``.
The dashboard itself never decides permissions.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.config import settings


def sign_in_configured() -> bool:
    """Whether the dashboard's secrets have an ``[auth]`` section."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def signed_in() -> bool:
    return bool(sign_in_configured() and st.user.is_logged_in)


def token() -> str:
    """The bearer token for the hub: the signed-in person's, else SALON_TOKEN."""
    if sign_in_configured():
        if not st.user.is_logged_in:
            return ""
        tokens: Any = st.user.tokens
        for kind in ("access", "id"):
            if kind in tokens:
                return str(tokens[kind])
        return ""
    return settings().token.get_secret_value()


def sign_in_page() -> None:
    """The page everyone sees before signing in."""
    st.title("Salon")
    st.write(
        "Experiments, datasets, discussions and the GPU cluster of your ML team, in one place."
    )
    if st.button("Sign in", type="primary", icon=":material/login:"):
        st.login()
    st.caption("You will be sent to your organisation's sign-in page and brought back here.")
