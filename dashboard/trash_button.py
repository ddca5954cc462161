"""The Trash popover the pages share: moving what a page shows (or what holds it) to the
trash, each choice a button of its own. Restoring is in Settings' Trash section."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from dashboard import trash_client
from dashboard.hub_client import HubError
from dashboard.ui import tell


def trash_popover(
    choices: Sequence[tuple[str, str, str]], help: str, where: Any = st
) -> dict[str, Any] | None:
    """A Trash popover in ``where`` with a button for each (label, kind, id) of ``choices``;
    the entry of what a click moved (the page reruns after a toast), None otherwise."""
    with where.popover("Trash", icon=":material/delete:", help=help):
        st.markdown(
            "What goes to the trash disappears from lists until someone restores it "
            "(Settings); the hub purges it for good later."
        )
        for label, kind, object_id in choices:
            if st.button(label, key=f"trash-{kind}"):
                try:
                    moved: dict[str, Any] = trash_client.move(kind, object_id)
                except HubError as exc:
                    st.error(str(exc))
                else:
                    tell(f"{moved['label']} is in the trash; Settings restores it.")
                    return moved
    return None
