"""A shared view, as its link shows it: in a wiki's iframe (``?embed=true``, without
Streamlit's chrome) or in a browser tab. It needs no sign-in and no cookie: the link's secret is
sent to the hub with every request for the data, and the hub checks it each time."""

import html
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import streamlit as st

from dashboard import auth, share, share_client
from dashboard.charts import gpu_history_figure
from dashboard.config import settings
from dashboard.curve_specs import curves_spec
from dashboard.tables import profile_table
from dashboard.ui import load

REFUSALS = {
    "link_expired": ("This link has expired", ":material/timer_off:"),
    "link_revoked": ("This link was revoked", ":material/link_off:"),
    "link_orphaned": ("This link no longer works", ":material/link_off:"),
    "link_sign_in": ("Sign in to see this", ":material/lock:"),
    "link_invalid": ("This link is not valid", ":material/link_off:"),
}
# An open wiki page stays current, and learns of a revoke (SALON_EMBED_REFRESH_SECONDS).
REFRESH = timedelta(seconds=settings().embed_refresh_seconds)


def curves(data: dict[str, Any], embedded: bool) -> None:
    names = {run["id"]: run["name"] for run in data["runs"]["nodes"]}
    keys = list(dict.fromkeys(series["key"] for series in data["metricSeries"]))
    for key in keys:
        height = 200 if embedded else 270
        spec = curves_spec(data["metricSeries"], key, names, height=height, named=True)
        st.vega_lite_chart(spec=spec, width="stretch", key=f"curve-{key}")


def dataset_profile(data: dict[str, Any], embedded: bool) -> None:
    version = data["dataset"]["version"]
    st.caption(
        f"{data['dataset']['name']} version {version['number']} · "
        f"{version['rowCount']:,} rows · {version['message']}"
    )
    table = profile_table(version["columns"], version["rowCount"])
    st.dataframe(table, hide_index=True, width="stretch")
    if any(column["pii"] for column in version["columns"]):
        st.caption("🔒 personal data: its profile is not shared.")


def model_card(data: dict[str, Any], embedded: bool) -> None:
    card = data["modelCard"]
    st.caption(f"{card['model']} version {card['version']}")
    for section in card["sections"]:
        st.markdown(f"**{section['title']}**")
        if section["html"].strip():
            st.html(section["html"])
        else:
            st.caption("Not written yet.")


def review_summary(data: dict[str, Any], embedded: bool) -> None:
    review, tally = data["review"], data["review"]["tally"]
    st.caption(
        f"{review['model']} version {review['version']}, judged on {review['dataset']} "
        f"version {review['datasetVersion']}"
        + (" · closed" if review["closedAt"] else " · in progress")
    )
    judged, accuracy, agreement = st.columns(3)
    judged.metric("Samples judged", f"{tally['judged']} of {tally['samples']}", border=True)
    if tally["accuracy"] is None:
        accuracy.metric("Accuracy", "—", border=True)
    else:
        accuracy.metric(
            "Accuracy",
            f"{tally['accuracy']:.0%}",
            border=True,
            help=f"95% interval {tally['low']:.0%} to {tally['high']:.0%}",
        )
    shown = "—" if tally["agreement"] is None else f"{tally['agreement']:.0%}"
    agreement.metric("Reviewers agree", shown, border=True)


def resource_usage(data: dict[str, Any], embedded: bool) -> None:
    history = data["clusterHistory"]
    if history:
        st.plotly_chart(gpu_history_figure(history, height=280), config={"displaylogo": False})
    else:
        st.caption("No samples of the cluster in this period.")
    hours = sum(row["gpuHours"] for row in data["clusterUsage"])
    jobs = sum(row["jobs"] for row in data["clusterUsage"])
    st.caption(f"This project used {hours:,.1f} GPU-hours in {jobs} jobs in the period.")


def wiki_page(data: dict[str, Any], embedded: bool) -> None:
    page = data["page"]
    if page["html"].strip():
        st.html(page["html"])
    st.caption(f"Version {page['version']} by {page['author']}")


VIEWS: dict[str, Callable[[dict[str, Any], bool], None]] = {
    "run_comparison": curves,
    "metric_chart": curves,
    "dataset_profile": dataset_profile,
    "model_card": model_card,
    "review_summary": review_summary,
    "resource_usage": resource_usage,
    "wiki_page": wiki_page,
}


def embed_codes(link: dict[str, Any]) -> None:
    with st.expander("Embed this view", icon=":material/code:"):
        st.caption("Paste this into a wiki page (its site must be allowed to frame Salon):")
        st.code(link["embedHtml"], language="html", wrap_lines=True)
        st.caption("Or the plain address, for wikis and chats that understand oEmbed:")
        st.code(link["url"], language=None, wrap_lines=True)
        st.markdown(
            " · ".join(
                f"[{kind.upper()} snapshot]({url})"
                for kind, url in link["snapshots"].items()
                if url
            )
        )


@st.fragment(run_every=REFRESH)
def live_view(secret: str, viewer: str | None, embedded: bool) -> None:
    """The view as the hub shows it now; drawn again every few minutes, each time checked."""
    shared = load(share_client.view, secret, viewer)
    if shared.link is None or shared.data is None:
        title, icon = REFUSALS.get(shared.refusal or "", REFUSALS["link_invalid"])
        st.error(f"**{title}.** {shared.message or ''}", icon=icon)
        if shared.refusal == "link_sign_in":
            st.link_button("Open Salon to sign in", "/", icon=":material/login:")
        return
    link = shared.link
    if embedded:
        st.subheader(link["title"])
    else:
        st.title(link["title"])
    VIEWS[link["view"]](shared.data, embedded)
    st.markdown(
        f"<small>Live from Salon · shared by {html.escape(link['createdBy'])} · "
        f"<a href='{html.escape(link['url'])}' target='_blank' rel='noopener'>Open in Salon ↗</a>"
        "</small>",
        unsafe_allow_html=True,
    )
    if not embedded:
        embed_codes(link)


if set(st.query_params) - {"link"}:
    share.refuse_more()
live_view(
    st.query_params.get("link", ""),
    auth.token() if auth.signed_in() else None,
    bool(st.context.is_embedded),  # ?embed=true: inside an iframe
)
