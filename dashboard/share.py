"""Sharing a view: the "Share" button on the pages that can be shared, and what a share page
says when its address asks for more than the link shares."""

from __future__ import annotations

import streamlit as st


def refuse_more() -> None:
    """The share page's answer to an address that names more than its link (other runs,
    another page): a clear refusal, never something else quietly shown instead."""
    st.error("**This address asks for more than its link shares.** A share link shows one "
             "view; open it as it was shared.", icon=":material/block:")  # fmt: skip
    st.stop()
