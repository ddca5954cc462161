"""The dashboard as an ASGI app: Streamlit with Salon's frame policy in front.

``salon up`` runs ``streamlit run dashboard/serve.py``; Streamlit finds ``app`` below and serves
``dashboard/app.py`` through it. (``streamlit run dashboard/app.py`` still works, without the
frame policy: use this file wherever the dashboard is reachable from other sites.)
"""

import streamlit as st
from starlette.middleware import Middleware

from dashboard.framing import FramePolicy

app = st.App("app.py", middleware=[Middleware(FramePolicy)])
