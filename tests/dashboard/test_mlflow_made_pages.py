"""What MLflow clients make, as the dashboard shows it (AppTest against a live hub): a run
renamed from its page as MLflow clients rename it, its experiment's tags, and a model version
registered from outside Salon."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_trash import a_run
from tests.conftest import LiveHub
from tests.dashboard.test_pages import assert_clean, labelled, open_page


@pytest.fixture
def live(hub_server: LiveHub, monkeypatch: pytest.MonkeyPatch) -> LiveHub:
    monkeypatch.setenv("SALON_URL", hub_server.url)
    monkeypatch.setenv("SALON_TOKEN", hub_server.token)
    return hub_server


def test_a_run_is_renamed_from_its_page(live: LiveHub) -> None:
    run_id = a_run(live, "first-try")
    app = open_page("run", id=run_id)
    assert_clean(app)
    labelled(app.text_input, "New name").set_value("baseline, lr 3e-4")
    labelled(app.button, "Rename").click().run()
    assert_clean(app)
    assert [t.value for t in app.title] == ["baseline, lr 3e-4"]
    # An empty name is refused with the hub's reason, and the run keeps its name.
    labelled(app.text_input, "New name").set_value("   ")
    labelled(app.button, "Rename").click().run()
    assert app.error and "name" in app.error[0].value.lower()
    assert [t.value for t in app.title] == ["baseline, lr 3e-4"]


def test_the_run_page_shows_its_experiments_tags(live: LiveHub) -> None:
    run_id = a_run(live, "tagged")
    got = httpx.get(
        f"{live.url}/api/2.0/mlflow/runs/get",
        params={"run_id": run_id},
        headers={"Authorization": f"Bearer {live.token}"},
        timeout=30,
    ).json()["run"]["info"]
    set_tag = httpx.post(
        f"{live.url}/api/2.0/mlflow/experiments/set-experiment-tag",
        json={"experiment_id": got["experiment_id"], "key": "team", "value": "vision-qa"},
        headers={"Authorization": f"Bearer {live.token}"},
        timeout=30,
    )
    assert set_tag.status_code == 200, set_tag.text
    app = open_page("run", id=run_id)
    assert_clean(app)
    assert any("`team=vision-qa`" in c.value for c in app.caption)


def test_a_version_from_outside_salon_says_so_on_the_models_page(live: LiveHub) -> None:
    a_run(live, "makes-the-project")  # project vision
    headers = {"Authorization": f"Bearer {live.token}"}
    api = f"{live.url}/api/2.0/mlflow"
    made = httpx.post(
        f"{api}/registered-models/create", json={"name": "vision.ext"}, headers=headers
    )
    assert made.status_code == 200, made.text
    version = httpx.post(
        f"{api}/model-versions/create",
        json={"name": "vision.ext", "source": "s3://elsewhere/ext", "run_id": "elsewhere-9"},
        headers=headers,
    )
    assert version.status_code == 200, version.text
    app = open_page("models", project="vision", model="ext", version="1")
    assert_clean(app)
    said = " ".join(c.value for c in app.caption)
    assert "Trained outside Salon (run `elsewhere-9` there)" in said, said
    assert "The run it came from" not in [link.proto.label for link in app.get("page_link")]
