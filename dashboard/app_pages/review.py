"""Review: say whether a model's predictions are right, one sample at a time or in a grid; see
how the review stands; owners close it and publish the reviewed labels for the next training."""

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import hub_client, model_client, share
from dashboard.hub_client import HubError
from dashboard.ui import load, may, tell

PAGE = 20
IMAGE_ENDINGS = (".png", ".jpg", ".jpeg", ".webp", ".gif")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def save(review_id: str, position: int, correct: bool, label: str | None, comment: str) -> bool:
    try:
        model_client.judge(review_id, position, correct, label, comment)
    except HubError as exc:
        st.error(str(exc), icon=":material/error:")
        return False
    return True


def inputs(review_id: str, sample: dict[str, Any], hidden: set[str]) -> None:
    """The sample's values, its images drawn: web addresses by the browser, the rest (run
    artifacts, files, S3 objects) through the hub, which holds the keys."""
    shown = [
        (c, v) for c, v in zip(sample["columns"], sample["values"], strict=True) if c not in hidden
    ]
    for column, value in shown:
        if not isinstance(value, str) or not value.lower().endswith(IMAGE_ENDINGS):
            continue
        if value.startswith(("http://", "https://")):
            st.image(value, caption=column, width="stretch")  # as wide as its column
            continue
        try:
            picture = model_client.sample_image(
                review_id, sample["position"], column, hub_client.current_token()
            )
        except HubError as exc:
            st.warning(f"The image in {column} cannot be shown: {exc}", icon=":material/image:")
        else:
            st.image(picture, caption=column, width="stretch")
    st.dataframe(
        pd.DataFrame({"what": [c for c, _ in shown], "value": [str(v) for _, v in shown]}),
        hide_index=True,
        width="stretch",
    )


def one_at_a_time(review: dict[str, Any], found: dict[str, Any]) -> None:
    if not found["samples"]:
        st.success(
            "You have judged every sample that still needs a verdict. Thank you!",
            icon=":material/task_alt:",
        )
        return
    sample = found["samples"][0]
    st.subheader(f"Sample {sample['position'] + 1} of {found['total']}")
    left, right = st.columns([3, 2])
    with left:
        inputs(review["id"], sample, {review["predictionColumn"], review["truthColumn"]})
    with right:
        st.metric("The model says", str(sample["prediction"]), border=True)
        comment = st.text_input("Comment (optional)", key=f"comment:{sample['position']}")
        yes, no = st.columns(2)
        right_answer = yes.button(
            "Correct", icon=":material/check:", type="primary", width="stretch"
        )
        if right_answer and save(review["id"], sample["position"], True, None, comment):
            st.rerun()
        wrong_key = f"wrong:{review['id']}:{sample['position']}"
        if no.button("Wrong", icon=":material/close:", width="stretch"):
            st.session_state[wrong_key] = True
        if st.session_state.get(wrong_key):
            others = [label for label in found["labels"] if label != str(sample["prediction"])]
            label = st.selectbox(
                "The right answer",
                others,
                index=None,
                placeholder="Choose what it should have said",
            )
            saved = st.button("Save", icon=":material/save:", disabled=label is None)
            if saved and save(review["id"], sample["position"], False, label, comment):
                st.session_state.pop(wrong_key, None)
                st.rerun()


def grid(review: dict[str, Any], total: int) -> None:
    pages = max(1, -(-total // PAGE))
    page = st.number_input("Page", 1, pages, 1, help=f"{PAGE} samples a page") if pages > 1 else 1
    found = load(model_client.review_samples, review["id"], (page - 1) * PAGE, PAGE)
    hidden = {review["predictionColumn"], review["truthColumn"]}
    rows = []
    for sample in found["samples"]:
        values = {
            c: str(v)
            for c, v in zip(sample["columns"], sample["values"], strict=True)
            if c not in hidden
        }
        mine = sample["mine"] or {}
        rows.append(
            {
                "sample": sample["position"] + 1,
                **values,
                "the model says": str(sample["prediction"]),
                "correct?": mine.get("correct"),
                "right answer": mine.get("label"),
                "comment": mine.get("comment", ""),
            }
        )
    table = pd.DataFrame(rows)
    locked = [c for c in table.columns if c not in ("correct?", "right answer", "comment")]
    edited = st.data_editor(
        table,
        hide_index=True,
        width="stretch",
        disabled=locked,
        key=f"grid:{page}",
        column_config={
            "correct?": st.column_config.CheckboxColumn("correct?"),
            "right answer": st.column_config.SelectboxColumn(
                "right answer", options=found["labels"]
            ),
        },
    )
    if st.button("Save these verdicts", icon=":material/save:", type="primary"):
        saved = 0
        for before, after in zip(rows, edited.to_dict("records"), strict=True):
            correct = after["correct?"]
            if correct is None or pd.isna(correct):
                continue
            label = None if correct or pd.isna(after["right answer"]) else after["right answer"]
            if (correct, label, after["comment"]) == (
                before["correct?"],
                before["right answer"],
                before["comment"],
            ):
                continue
            if not save(
                review["id"],
                int(after["sample"]) - 1,
                bool(correct),
                label,
                str(after["comment"] or ""),
            ):
                return
            saved += 1
        tell(f"Saved {saved} verdict(s)", icon=":material/check:")
        st.rerun()


def standing(review: dict[str, Any]) -> None:
    tally = review["tally"]
    share.share_button(
        {"view": "REVIEW_SUMMARY", "project": review["project"], "reviewId": review["id"]},
        f"{review['model']} version {review['version']}: review",
    )
    accuracy, agreement, judged = st.columns(3)
    accuracy.metric(
        "Judged correct",
        percent(tally["accuracy"]),
        border=True,
        help=f"95 % interval {percent(tally['low'])} to {percent(tally['high'])}, "
        f"over the {tally['decided']} samples with a majority",
    )
    agreement.metric(
        "Reviewers agree on",
        percent(tally["agreement"]),
        border=True,
        help="Samples judged twice or more on which everyone agreed. Fleiss' kappa: "
        + ("—" if tally["kappa"] is None else f"{tally['kappa']:.2f}"),
    )
    judged.metric(
        f"Samples with {review['perItem']} verdicts",
        f"{tally['complete']} of {tally['samples']}",
        border=True,
        help=f"A sample is done once {review['perItem']} reviewers have judged it; the bar "
        "above counts the samples you judged yourself.",
    )
    if tally["disagreements"]:
        st.caption(
            "Reviewers disagree on samples "
            + ", ".join(str(p + 1) for p in tally["disagreements"][:30])
        )


def owners(review: dict[str, Any]) -> None:
    """Publishing the reviewed labels and closing the review, for editors of the project."""
    if not may(review["project"], "editor"):
        return
    with st.expander("For the model's owners"):
        message = st.text_input("What the new dataset version is", value="Reviewed labels")
        left, right = st.columns(2)
        if left.button("Publish the reviewed labels", icon=":material/publish:"):
            try:
                made = model_client.publish_review(review["id"], message)
            except HubError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.success(
                    f"{made['dataset']} version {made['version']} has the reviewed labels "
                    f"({made['rows']:,} rows)."
                )
        if review["closedAt"] is None and right.button("Close the review", icon=":material/lock:"):
            try:
                model_client.close_review(review["id"])
            except HubError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.rerun()


st.title("Review predictions")
waiting = load(model_client.waiting_reviews)
wanted = st.query_params.get("review")
if not waiting and not wanted:
    st.info("Nothing is waiting for your review.", icon=":material/inbox:")
    st.stop()
ids = [q["id"] for q in waiting]
if wanted and wanted not in ids:
    ids.insert(0, wanted)
names = {
    q["id"]: f"{q['model']} version {q['version']} · {q['dataset']} · "
    f"{q['tally']['complete']} of {q['tally']['samples']} done"
    for q in waiting
}
chosen = st.selectbox(
    "Review",
    ids,
    index=ids.index(wanted) if wanted in ids else 0,
    format_func=lambda i: names.get(i, "this review"),
)
st.query_params["review"] = chosen
review = load(model_client.review, chosen)
found = load(model_client.review_samples, chosen)
st.progress(
    found["judgedByMe"] / max(found["total"], 1),
    text=f"You have judged {found['judgedByMe']} of {found['total']} samples",
)
st.caption(
    f"Each sample needs {review['perItem']} verdicts from different reviewers: "
    f"{review['tally']['complete']} of {review['tally']['samples']} have them so far."
)
if found["instructionsHtml"]:
    with st.container(border=True):
        st.html(found["instructionsHtml"])
if review["closedAt"]:
    st.info("This review is closed: its verdicts are final.", icon=":material/lock:")
else:
    mode = st.segmented_control("View", ["One at a time", "Grid"], default="One at a time")
    if mode == "Grid":
        grid(review, found["total"])
    else:
        one_at_a_time(review, found)
st.divider()
standing(review)
owners(review)
