"""Salon's dashboard: run with ``streamlit run dashboard/app.py`` (``salon up`` does it for you).

The hub's address comes from SALON_URL. People sign in with ``st.login`` when the dashboard's
secrets configure it (``salon up`` does); otherwise the dashboard uses SALON_TOKEN.
"""

import streamlit as st

from dashboard import auth, hub_client, share, ui

st.set_page_config(layout="wide", page_title="Salon", page_icon=":material/forum:")
ui.say_what_was_told()  # the toast of the change that made this run, if any


if st.query_params.get("link"):
    # A share link: its one view, for anyone holding the link (a wiki's iframe has no cookies,
    # so no sign-in); the hub checks the link on every request. It shows what the link was made
    # for and nothing else: an address that asks for more (other runs, another page) is refused
    # rather than quietly answered with something else. (?embed=true is not in query_params.)
    refusal = st.Page(share.refuse_more, title="Salon", url_path="refused", default=True)
    shared = st.Page(
        "app_pages/shared.py", title="Shared view", icon=":material/share:", url_path="shared"
    )
    st.navigation([refusal, shared], position="hidden").run()
    st.stop()

if auth.sign_in_configured() and not st.user.is_logged_in:
    st.navigation([st.Page(auth.sign_in_page, title="Sign in", icon=":material/login:")]).run()
    st.stop()

me = hub_client.me_or_none()
unread = hub_client.unread_count_or_zero() if me is not None else 0
# Every page stays in sight (a collapsed "View more" hid the audit trail): grouped by what
# people come to do.
pages = {
    "": [st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Experiments": [
        st.Page("app_pages/experiments.py", title="Experiments", icon=":material/science:"),
        st.Page("app_pages/compare.py", title="Compare", icon=":material/stacked_line_chart:"),
        st.Page("app_pages/run.py", title="Run", icon=":material/description:"),
    ],
    "Data and models": [
        st.Page("app_pages/datasets.py", title="Datasets", icon=":material/table:"),
        st.Page("app_pages/models.py", title="Models", icon=":material/model_training:"),
        st.Page("app_pages/review.py", title="Review", icon=":material/rate_review:"),
    ],
    "Team": [
        st.Page("app_pages/tasks.py", title="Tasks", icon=":material/view_kanban:"),
        st.Page("app_pages/wiki.py", title="Wiki", icon=":material/menu_book:"),
        st.Page(
            "app_pages/activity.py",
            title=f"Activity ({unread} new)" if unread else "Activity",
            icon=":material/notifications:",
        ),
        st.Page("app_pages/resources.py", title="Resources", icon=":material/memory:"),
    ],
    "You": [st.Page("app_pages/settings.py", title="Settings", icon=":material/key:")],
}
if me is not None and me["canReadAudit"]:
    pages["You"].append(
        st.Page("app_pages/audit.py", title="Audit trail", icon=":material/policy:")
    )
    pages["You"].append(
        st.Page("app_pages/compliance.py", title="Compliance", icon=":material/gavel:")
    )

with st.sidebar:
    if me is not None:
        st.caption(f"Signed in as **{me['user']['displayName']}** ({me['user']['name']})")
    if auth.signed_in() and st.button("Sign out", icon=":material/logout:"):
        st.cache_data.clear()
        st.logout()
st.navigation(pages, expanded=True).run()
