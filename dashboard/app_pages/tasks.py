"""Tasks: a project's board (columns by status), your own work across projects, and a task in
full with its discussion."""

from datetime import date
from typing import Any

import streamlit as st

from dashboard import discussion, hub_client
from dashboard.trash_button import trash_popover
from dashboard.ui import load, pick_project, tell

COLUMNS = {"todo": "To do", "doing": "Doing", "review": "In review", "done": "Done"}
ORDER = list(COLUMNS)


def due_text(task: dict[str, Any]) -> str:
    if not task["dueDate"]:
        return ""
    due = date.fromisoformat(task["dueDate"])
    late = task["status"] != "done" and due < date.today()
    return f":red[due {due:%d %b}]" if late else f"due {due:%d %b}"


def move(task: dict[str, Any], status: str) -> None:
    try:
        hub_client.update_task(task["id"], {"status": status})
    except hub_client.HubError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.rerun()


def card(task: dict[str, Any]) -> None:
    with st.container(border=True):
        st.markdown(f"**#{task['number']} {task['title']}**")
        facts = [task["assigneeDisplayName"] or "nobody yet", due_text(task)]
        st.caption(" · ".join(f for f in facts if f))
        if task["labels"]:
            st.markdown(" ".join(f":gray-badge[{label}]" for label in task["labels"]))
        place = ORDER.index(task["status"])
        # One line of buttons as wide as their words: in thirds of a card, a board column at a
        # laptop's width cut "Open" to "O…" and the arrows to nothing.
        buttons = st.container(horizontal=True, gap="small")
        if place > 0 and buttons.button(
            "◀",
            key=f"back:{task['id']}",
            help=f"Move to {COLUMNS[ORDER[place - 1]]}",
            width="content",
        ):
            move(task, ORDER[place - 1])
        if buttons.button("Open", key=f"open:{task['id']}", type="tertiary", width="content"):
            st.query_params["task"] = task["id"]
            st.rerun()
        ahead = ORDER[place + 1] if place < len(ORDER) - 1 else None
        if ahead and buttons.button(
            "▶", key=f"next:{task['id']}", help=f"Move to {COLUMNS[ahead]}", width="content"
        ):
            move(task, ahead)


def details(task: dict[str, Any], people: dict[str, str]) -> None:
    st.subheader(f"#{task['number']} {task['title']}")
    st.caption(
        f"{task['project']} · opened by {task['createdBy']} · {COLUMNS[task['status']].lower()}"
    )
    if task["html"]:
        st.html(task["html"])
    if trash_popover(
        [(f"Move #{task['number']} to the trash", "TASK", task["id"])],
        help="Move this task to the trash",
    ):
        del st.query_params["task"]
        st.rerun()
    with st.form(f"edit:{task['id']}"):
        left, middle, right = st.columns(3)
        names = ["", *people]
        assignee = left.selectbox(
            "Assignee",
            names,
            index=names.index(task["assignee"] or ""),
            format_func=lambda n: people.get(n, "nobody"),
        )
        status = middle.selectbox(
            "Status", ORDER, index=ORDER.index(task["status"]), format_func=COLUMNS.__getitem__
        )
        due = right.date_input(
            "Due", value=date.fromisoformat(task["dueDate"]) if task["dueDate"] else None
        )
        if st.form_submit_button("Save"):
            values = {
                "assignee": assignee,
                "status": status,
                "dueDate": due.isoformat() if due else None,
                "clearDueDate": due is None,
            }
            try:
                hub_client.update_task(task["id"], values)
            except hub_client.HubError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.rerun()
    for link in task["links"]:
        if link["kind"] == "RUN":
            st.page_link(
                "app_pages/run.py",
                label="The linked run",
                icon=":material/description:",
                query_params={"id": link["id"]},
            )
    discussion.show("TASK", task["id"])
    if st.button("Back to the board", icon=":material/arrow_back:"):
        del st.query_params["task"]
        st.rerun()


st.title("Tasks")
people = {u["name"]: u["displayName"] for u in load(hub_client.users)}
board_tab, mine_tab = st.tabs(["Board", "My work"])

with mine_tab:
    mine = load(hub_client.my_work)
    if not mine:
        st.caption("Nothing is assigned to you. Enjoy it.")
    for task in mine:
        with st.container(border=True):
            st.markdown(f"**{task['project']} #{task['number']} {task['title']}**")
            st.caption(" · ".join(f for f in (COLUMNS[task["status"]], due_text(task)) if f))

with board_tab:
    project = pick_project()
    tasks = load(hub_client.tasks, project)
    opened = st.query_params.get("task")
    chosen = next((t for t in tasks if t["id"] == opened), None)
    if chosen is not None:
        details(chosen, people)
    else:
        labels = sorted({label for t in tasks for label in t["labels"]})
        shown_labels = st.multiselect("Only with labels", labels) if labels else []
        shown = [t for t in tasks if not shown_labels or set(shown_labels) & set(t["labels"])]
        for column, status in zip(st.columns(len(COLUMNS)), ORDER, strict=True):
            in_column = [t for t in shown if t["status"] == status]
            with column:
                st.markdown(f"**{COLUMNS[status]}** ({len(in_column)})")
                for task in in_column:
                    card(task)
        with (
            st.expander("New task", icon=":material/add_task:"),
            st.form("new-task", clear_on_submit=True),
        ):
            title = st.text_input("Title", max_chars=200)
            description = st.text_area("Description", placeholder="Markdown works.")
            left, right = st.columns(2)
            assignee = left.selectbox(
                "Assignee", ["", *people], format_func=lambda n: people.get(n, "nobody")
            )
            due = right.date_input("Due", value=None)
            label_text = st.text_input("Labels", placeholder="comma-separated: data, urgent")
            if st.form_submit_button("Open task", icon=":material/add:"):
                values = {
                    "title": title,
                    "description": description,
                    "assignee": assignee or None,
                    "dueDate": due.isoformat() if due else None,
                    "labels": [x.strip() for x in label_text.split(",") if x.strip()],
                }
                try:
                    made = hub_client.create_task(project, values)
                except hub_client.HubError as exc:
                    st.error(str(exc), icon=":material/error:")
                else:
                    tell(f"Opened #{made['number']}")
                    st.rerun()
