"""Salon's dashboard: run with ``streamlit run dashboard/app.py`` (``salon up`` does it for you).

The hub's address and token come from SALON_URL and SALON_TOKEN.
"""

import streamlit as st

st.set_page_config(layout="wide", page_title="Salon", page_icon=":material/forum:")

pages = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/experiments.py", title="Experiments", icon=":material/science:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/stacked_line_chart:"),
    st.Page("app_pages/run.py", title="Run", icon=":material/description:"),
]
st.navigation(pages).run()
