"""Models: each model's versions, what is in production, the checks each version passed, and
approving a version or asking for changes — the gate before a protected alias moves."""

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import dataset_client, discussion, model_client, share
from dashboard.discussion import when
from dashboard.hub_client import HubError
from dashboard.trash_button import trash_popover
from dashboard.ui import Badge, load, may, not_allowed, pick_project, tell

CHECK_BADGES: dict[str, Badge] = {
    "passed": (":material/check_circle:", "green"),
    "failed": (":material/error:", "red"),
    "running": (":material/autorenew:", "blue"),
    "queued": (":material/schedule:", "gray"),
}


def act(work: Any, done: str) -> None:
    try:
        work()
    except HubError as exc:
        st.error(str(exc), icon=":material/block:")
        return
    tell(done, icon=":material/check:")
    st.rerun()


def checks(version: dict[str, Any]) -> None:
    if not version["checks"]:
        st.caption("Its policy asked for no checks.")
        return
    for check in version["checks"]:
        icon, color = CHECK_BADGES.get(check["status"], (":material/help:", "gray"))
        left, right = st.columns([1, 4])
        with left:
            st.badge(check["status"], icon=icon, color=color)
        right.markdown(f"**{check['title']}**  \n{check['detail']}")
        if check["log"]:
            with right.expander("Log of the check's job"):
                st.code(check["log"][-5000:], language=None)


def prediction_reviews(project: str, version: dict[str, Any]) -> None:
    for queue in version["reviewQueues"]:
        tally = queue["tally"]
        judged = "nothing decided"
        if tally["accuracy"] is not None:
            judged = (
                f"judged correct {tally['accuracy']:.0%} (95 % {tally['low']:.0%} to "
                f"{tally['high']:.0%})"
            )
        state = "closed" if queue["closedAt"] else "open"
        st.page_link(
            "app_pages/review.py",
            query_params={"review": queue["id"]},
            label=f"{queue['dataset']} version {queue['datasetVersion']}: {judged}, "
            f"{tally['complete']} of {tally['samples']} samples done ({state})",
            icon=":material/rate_review:",
        )
    with st.popover("Ask for a review of its predictions", icon=":material/add:"):
        tables = [d["name"] for d in dataset_client.datasets(project)]
        with st.form(f"start:{version['id']}"):
            table = st.selectbox(
                "Predictions table",
                tables,
                help="A dataset with the inputs, the prediction and, if known, "
                "the true answer per row",
            )
            prediction = st.text_input("Column with the prediction", value="prediction")
            truth = st.text_input("Column with the true answer (optional)")
            size = st.number_input("Samples to review", 1, 5000, 100)
            per_item = st.number_input("Reviewers per sample", 1, 10, 2)
            instructions = st.text_area("What reviewers should look for")
            started = st.form_submit_button("Start the review")
        if started and table:
            act(
                lambda: model_client.start_review(
                    version["id"],
                    table,
                    prediction,
                    truth or None,
                    int(size),
                    int(per_item),
                    instructions,
                ),
                "Review started",
            )


@st.fragment
def verdicts(version: dict[str, Any]) -> None:
    """The reviews so far and a form to add one. A fragment: sending a review reruns only this
    part before the whole page is drawn again with the new gate, so the answer shows at once."""
    for review in version["reviews"]:
        said = "approved" if review["verdict"] == "approve" else "asked for changes"
        with st.container(border=True):
            st.caption(f"**{review['reviewer']}** {said} · {when(review['at'])}")
            if review["html"]:
                st.html(review["html"])
    with st.form(f"review:{version['id']}", clear_on_submit=True):
        body = st.text_area("Your review", placeholder="What you looked at, and what you found.")
        left, right = st.columns(2)
        approve = left.form_submit_button("Approve", icon=":material/thumb_up:", type="primary")
        changes = right.form_submit_button("Request changes", icon=":material/edit_note:")
    if approve:
        act(lambda: model_client.review_version(version["id"], "approve", body), "Approved")
    elif changes:
        act(
            lambda: model_client.review_version(version["id"], "request_changes", body),
            "Changes requested",
        )


def gate(version: dict[str, Any], protected: list[str]) -> None:
    if version["gate"]["open"]:
        st.success(
            f"Version {version['number']} may become {' or '.join(protected)}.",
            icon=":material/verified:",
        )
    else:
        st.warning(
            f"Not ready for {' or '.join(protected)}: {'; '.join(version['gate']['reasons'])}.",
            icon=":material/lock:",
        )


def actions(project: str, model: dict[str, Any], version: dict[str, Any]) -> None:
    """Moving an alias (editors; a protected one, maintainers) and running the checks again
    (editors), shown to those who may."""
    if not may(project, "editor"):
        not_allowed(project, "Moving an alias or running the checks again", "editor")
        return
    protected = set(model["policy"]["protected"])
    aliases = sorted({a["alias"] for a in model["aliases"]} | protected | {"staging"})
    if not may(project, "maintainer"):
        aliases = [a for a in aliases if a not in protected]
    left, middle, right = st.columns([2, 1, 1], vertical_alignment="bottom")
    alias = left.selectbox("Alias", aliases, key=f"alias:{version['id']}")
    if alias and middle.button(
        f"Point {alias} here", key=f"move:{version['id']}", icon=":material/rocket_launch:"
    ):
        act(
            lambda: model_client.move_alias(project, model["name"], alias, version["number"]),
            f"{alias} is version {version['number']} now",
        )
    if right.button("Run the checks again", key=f"rerun:{version['id']}", icon=":material/replay:"):
        act(lambda: model_client.rerun_checks(version["id"]), "Checks started again")
    if protected and not may(project, "maintainer"):
        named = " and ".join(sorted(protected))
        st.caption(f":material/lock: {named} move only by a maintainer of the project.")


def model_card(project: str, model: dict[str, Any], version: dict[str, Any]) -> None:
    try:
        card = model_client.card(version["id"])
    except HubError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    share.share_button(
        {"view": "MODEL_CARD", "project": project, "modelVersionId": version["id"]},
        f"{model['name']} version {version['number']}: model card",
    )
    st.download_button(
        "Download the card (Markdown)",
        card["markdown"],
        file_name=f"{model['name']}-v{version['number']}-card.md",
        mime="text/markdown",
        icon=":material/download:",
    )
    for section in card["sections"]:
        st.markdown(f"#### {section['title']}")
        if section["html"]:
            st.html(section["html"])
        else:
            st.caption("Not written yet.")
        if section["editable"]:
            with st.popover(f"Edit “{section['title']}”", icon=":material/edit:"):
                with st.form(f"card:{version['id']}:{section['key']}"):
                    body = st.text_area(section["title"], value=section["markdown"], height=160)
                    saved = st.form_submit_button("Save")
                if saved:
                    act(
                        lambda key=section["key"], text=body: model_client.write_card(
                            project, model["name"], key, text
                        ),
                        "Saved",
                    )


def version_page(project: str, model: dict[str, Any], version: dict[str, Any]) -> None:
    title = f"Version {version['number']}"
    if version["aliases"]:
        title += " · " + ", ".join(version["aliases"])
    st.subheader(title)
    st.caption(
        f"Registered by {version['createdBy']} · {when(version['createdAt'])} · "
        f"weights at `{version['source']}`"
    )
    if version["runId"]:
        st.page_link(
            "app_pages/run.py",
            label="The run it came from",
            icon=":material/description:",
            query_params={"id": version["runId"]},
        )
    else:
        elsewhere = f" (run `{version['runReference']}` there)" if version["runReference"] else ""
        st.caption(f"Trained outside Salon{elsewhere}: registered through MLflow from its source.")
    if version["description"]:
        st.markdown(version["description"])
    moved = trash_popover(
        [
            (f"Move version {version['number']} to the trash", "MODEL_VERSION", version["id"]),
            (f"Move model {model['name']} to the trash", "MODEL", model["id"]),
        ],
        help="Move this version, or the model with its versions, to the trash",
    )
    if moved:
        st.query_params.pop("version", None)
        if moved["kind"] == "MODEL":
            st.query_params.pop("model", None)
        st.rerun()
    gate(version, version["policy"]["protected"])
    # Labels that do not change with a review, so the tab a reviewer is in stays open when the
    # page is drawn again (the gate above says how many approvals are still missing).
    tabs = st.tabs(["Checks", "Reviews", "Inputs", "Model card", "Discussion"])
    with tabs[0]:
        checks(version)
    with tabs[1]:
        prediction_reviews(project, version)
        verdicts(version)
    with tabs[2]:
        if version["inputSchema"]:
            st.dataframe(pd.DataFrame(version["inputSchema"]), hide_index=True)
        else:
            st.caption("Registered without its input schema.")
    with tabs[3]:
        model_card(project, model, version)
    with tabs[4]:
        discussion.show("MODEL_VERSION", version["id"])
    actions(project, model, version)


st.title("Models")
project = pick_project(st.sidebar)
found = load(model_client.models, project)
if not found:
    st.info(
        f"No models in {project} yet. Register one from a run: "
        '`run.register_model("name", "path or URI")`.'
    )
    st.stop()
names = [m["name"] for m in found]
wanted = st.query_params.get("model")
name = st.selectbox("Model", names, index=names.index(wanted) if wanted in names else 0)
st.query_params["model"] = name
model = load(model_client.model, project, name)
if model["description"]:
    st.markdown(model["description"])
if model["aliases"]:
    st.markdown(
        " ".join(f":blue-badge[{a['alias']} → version {a['version']}]" for a in model["aliases"])
    )
rules = model["policy"]
st.caption(
    f"Before {', '.join(rules['protected'])} moves: {len(rules['checks'])} check(s) "
    f"({', '.join(c['title'] for c in rules['checks']) or 'none'}) and "
    f"{rules['approvals']} approval(s)"
    + (f" from {rules['approverGroup']}" if rules["approverGroup"] else "")
    + (f"; {rules['autoMove']} moves by itself once they hold." if rules["autoMove"] else ".")
)

versions = model["versions"]
table = pd.DataFrame(
    {
        "version": [v["number"] for v in versions],
        "aliases": [", ".join(v["aliases"]) for v in versions],
        "checks passed": [
            f"{sum(c['status'] == 'passed' for c in v['checks'])} of {len(v['checks'])}"
            for v in versions
        ],
        "approvals": [f"{v['gate']['approvals']} of {v['gate']['needed']}" for v in versions],
        "ready": ["yes" if v["gate"]["open"] else "no" for v in versions],
        "by": [v["createdBy"] for v in versions],
        "registered": [when(v["createdAt"]) for v in versions],
    }
)
st.dataframe(table, hide_index=True, width="stretch")
numbers = [v["number"] for v in versions]
asked = st.query_params.get("version")
chosen = st.selectbox(
    "Version",
    numbers,
    format_func=lambda n: f"Version {n}",
    index=numbers.index(int(asked)) if asked and asked.isdigit() and int(asked) in numbers else 0,
)
st.query_params["version"] = str(chosen)
version_page(project, model, next(v for v in versions if v["number"] == chosen))

if model["moves"]:
    with st.expander("Who moved which alias when"):
        st.dataframe(
            pd.DataFrame(
                {
                    "when": [when(m["movedAt"]) for m in model["moves"]],
                    "alias": [m["alias"] for m in model["moves"]],
                    "to": [
                        f"version {m['version']}" if m["version"] else "removed"
                        for m in model["moves"]
                    ],
                    "from": [
                        f"version {m['previous']}" if m["previous"] else "" for m in model["moves"]
                    ],
                    "by": [
                        ("the policy" if m["automatic"] else m["movedBy"]) for m in model["moves"]
                    ],
                }
            ),
            hide_index=True,
            width="stretch",
        )
