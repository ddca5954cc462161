"""Wiki: a project's pages (experiment logs, decisions, onboarding) and shared notebooks,
versioned, with live cards for the runs, datasets and tasks they mention."""

from typing import Any

import streamlit as st

from dashboard import discussion, hub_client, share
from dashboard.trash_button import trash_popover
from dashboard.ui import load, pick_project

REFERENCE_HELP = (
    "Mention objects as live cards: [[run:NAME]], [[dataset:NAME]] or [[dataset:NAME@2]], "
    "[[task:3]], [[page:SLUG]]."
)


def cards(found: dict[str, Any]) -> None:
    if not found["cards"]:
        return
    st.markdown("**Mentioned here**")
    columns = st.columns(min(3, len(found["cards"])))
    for index, item in enumerate(found["cards"]):
        with columns[index % len(columns)].container(border=True):
            st.markdown(f"**{item['title']}**")
            st.caption(item["state"])
            if item["kind"] == "run" and item["objectId"]:
                st.page_link(
                    "app_pages/run.py", label="Open the run", query_params={"id": item["objectId"]}
                )


def notebook(found: dict[str, Any]) -> None:
    """The notebook cell by cell; each cell can take a comment."""
    for cell in found["cells"]:
        with st.container(border=cell["kind"] == "code"):
            st.html(cell["html"])
            with (
                st.popover(f"Comment on cell {cell['index'] + 1}", icon=":material/comment:"),
                st.form(f"cell:{cell['index']}", clear_on_submit=True),
            ):
                text = st.text_area("Comment on this cell", key=f"cell-text:{cell['index']}")
                if st.form_submit_button("Send"):
                    try:
                        hub_client.add_comment("PAGE", found["id"], text, {"cell": cell["index"]})
                    except hub_client.HubError as exc:
                        st.error(str(exc), icon=":material/error:")
                    else:
                        st.rerun()


def editor(project: str, found: dict[str, Any] | None) -> None:
    with st.form("page-editor"):
        slug = st.text_input(
            "Address",
            value=found["slug"] if found else "",
            disabled=found is not None,
            placeholder="onboarding",
        )
        title = st.text_input("Title", value=found["title"] if found else "")
        body = st.text_area(
            "Text (Markdown)", value=found["body"] if found else "", height=300, help=REFERENCE_HELP
        )
        message = st.text_input("What changed", placeholder="e.g. added the results of run 12")
        if st.form_submit_button("Save", icon=":material/save:"):
            try:
                saved = hub_client.save_page(project, slug, title, body, message)
            except hub_client.HubError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.query_params["slug"] = saved["slug"]
                st.rerun()


st.title("Wiki")
left, right = st.columns([1, 2])
project = pick_project(left)
listed = load(hub_client.pages, project)
labels = {p["slug"]: f"{'📓 ' if p['kind'] == 'notebook' else ''}{p['title']}" for p in listed}
chosen = st.query_params.get("slug")
slug = right.selectbox(
    "Page",
    list(labels),
    format_func=labels.__getitem__,
    index=list(labels).index(chosen) if chosen in labels else None,
    placeholder="Choose a page",
)


def contents(project: str, listed: list[dict[str, Any]]) -> None:
    """The project's pages and notebooks, newest first, each a link to itself."""
    if not listed:
        st.info(
            f"No pages in {project} yet. Teams keep their decisions, onboarding notes and "
            "experiment logs here; write the first one below.",
            icon=":material/article:",
        )
        return
    st.subheader(f"Pages in {project}")
    for found in sorted(listed, key=lambda p: p["updatedAt"], reverse=True):
        notebook = found["kind"] == "notebook"
        st.page_link(
            "app_pages/wiki.py",
            label=found["title"] or found["slug"],
            query_params={"project": project, "slug": found["slug"]},
            icon=":material/book_2:" if notebook else ":material/article:",
        )
        st.caption(
            f"{'Notebook' if notebook else 'Page'} · version {found['version']} by "
            f"{found['author']} · {discussion.when(found['updatedAt'])}"
        )


if slug is None:
    contents(project, listed)
    adding = st.expander(
        "Write a page or share a notebook", icon=":material/add:", expanded=not listed
    )
    new_page, new_notebook = adding.tabs(["Write a page", "Share a notebook"])
    with new_page:
        editor(project, None)
    with new_notebook:
        uploaded = st.file_uploader("Jupyter notebook", type=["ipynb"])
        if uploaded is not None and st.button("Share it", icon=":material/upload:"):
            stem = uploaded.name.rsplit(".", 1)[0].lower()
            address = "".join(c if c.isalnum() else "-" for c in stem).strip("-")[:80]
            try:
                saved = hub_client.save_page(
                    project,
                    address or "notebook",
                    "",
                    uploaded.getvalue().decode("utf-8", "replace"),
                    "shared from the dashboard",
                    "notebook",
                )
            except hub_client.HubError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.query_params["slug"] = saved["slug"]
                st.rerun()
    st.stop()

st.query_params["slug"] = slug
versions = [h["version"] for h in load(hub_client.page, project, slug)["history"]]
version = st.selectbox("Version", versions, format_func=lambda v: f"version {v}", index=0)
found = load(hub_client.page, project, slug, version)
st.caption(
    f"Version {found['version']} by {found['author']} on "
    f"{discussion.when(found['updatedAt'])}"
    + (f" — {found['message']}" if found["message"] else "")
)
noun = "notebook" if found["kind"] == "notebook" else "page"
if trash_popover(
    [(f"Move this {noun} to the trash", "PAGE", found["id"])],
    help=f"Move this {noun} to the trash",
):
    del st.query_params["slug"]
    st.rerun()
if found["kind"] == "notebook":
    notebook(found)
else:
    share.share_button(
        {"view": "WIKI_PAGE", "project": project, "slug": found["slug"]}, found["title"]
    )
    st.html(found["html"])
    cards(found)
    with st.expander("Edit this page", icon=":material/edit:"):
        editor(project, found)
discussion.show("PAGE", found["id"])
