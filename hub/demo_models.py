"""The demo team's models: a defect detector with one version in production, a better one that
passed its checks and review, and the newest one waiting for the quality engineer's verdict; and
the churn model in production. Written as the people who did it, through the services."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hub.demo_data import DEFECTS, LINES
from hub.demo_discussions import _as
from hub.services import dataset_uploads, models, reviews, runs
from hub.services.model_policy import CheckSpec, Policy
from hub.services.principal import SYSTEM, Principal
from hub.settings import Settings
from hub.store import Store

INPUTS = [("image", "binary"), ("line", "string"), ("camera_id", "int32"),
          ("exposure_ms", "float32")]  # fmt: skip
DETECTOR_POLICY = Policy(
    protected=("production",),
    checks=(
        CheckSpec("metric", metric="val/acc", op=">=", value=0.85),
        CheckSpec("no_worse", metric="val/acc", than="production", by=0.01),
        CheckSpec("schema", than="production"),
    ),
    approvals=1,
)


async def _best(store: Store, project: str, experiment: str, rank: int = 0) -> str:
    """A finished run of the experiment, best by its last validation accuracy."""
    page = await runs.search_runs(store, SYSTEM, project,
                                  f"experiment = '{experiment}' and status = 'finished'",
                                  ["metrics.`val/acc` desc"], 5, None, 500)  # fmt: skip
    return page.runs[min(rank, len(page.runs) - 1)].id


def _predictions(rows: int, seed: int) -> pa.Table:
    """What version 3 said about parts it had not seen, next to what the inspectors found."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(DEFECTS, rows)
    wrong = rng.random(rows) < 0.12
    predicted = np.where(wrong, rng.choice(DEFECTS, rows), truth)
    return pa.table({
        "part_id": np.arange(200_000, 200_000 + rows),
        "line": rng.choice(LINES, rows),
        "camera": rng.choice(["cam-1", "cam-2", "cam-3", "cam-4"], rows),
        "image": [f"s3://line-camera/2026-11/{200_000 + i}.png" for i in range(rows)],
        "confidence": np.round(rng.beta(8, 2, rows), 3),
        "prediction": predicted,
        "inspector_verdict": truth,
    })  # fmt: skip


async def _review(store: Store, settings: Settings, version_id: str, people: list[Principal],
                  dmitri: Principal) -> None:  # fmt: skip
    """Version 3's predictions on held-out parts, half-way through review by two experts."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "predictions.parquet"
        pq.write_table(_predictions(600, 41), path)
        await dataset_uploads.upload(
            store, settings, dmitri, "vision-defects", "detector-v3-predictions", path,
            "predictions.parquet", "parquet", "Version 3 on 600 held-out parts from November",
        )  # fmt: skip
    queue = await reviews.start(
        store, dmitri, version_id, "detector-v3-predictions", "prediction",
        truth_column="inspector_verdict", size=40, per_item=2, seed=3,
        instructions="Look at the **image** and say whether the defect is right. Hairline "
        "scratches on line C count as scratches.",
    )  # fmt: skip
    samples = (await reviews.samples(store, people[0], queue.id, offset=0, limit=40)).samples
    for person, count in zip(people, (14, 9), strict=True):
        for sample in samples[:count]:
            right = sample.prediction if sample.position % 7 else "scratch"
            ok = right == sample.prediction or (person is people[1] and sample.position == 7)
            await reviews.judge(store, person, queue.id, sample.position, ok,
                                None if ok else right)  # fmt: skip


async def load_models(store: Store, settings: Settings) -> int:
    """Register the demo's model versions; returns how many."""
    names = ("ana.silva", "dmitri.volkov", "farah.haddad", "ben.okafor")
    ana, dmitri, farah, ben = [await _as(store, n) for n in names]
    baseline = await _best(store, "vision-defects", "resnet-baseline")
    await models.register(store, ana, baseline, "defect-detector",
                          "s3://vision-models/defect-detector/resnet50-b07.onnx",
                          "ResNet-50 on line A and B images.", {"framework": "onnx"},
                          INPUTS)  # fmt: skip
    await models.move_alias(store, ana, "vision-defects", "defect-detector", "production", 1)
    await models.set_policy(store, ana, "vision-defects", "defect-detector", DETECTOR_POLICY)
    _, vit, _ = await models.register(
        store, dmitri, await _best(store, "vision-defects", "vit-finetune", 1),
        "defect-detector", "s3://vision-models/defect-detector/vit-b16-f03.onnx",
        "ViT-B/16 fine-tuned with line C images.", {"framework": "onnx"}, INPUTS,
    )  # fmt: skip
    await models.review(store, farah, vit.id, "approve",
                        "Checked 40 scratch images from line C: it catches the hairline ones "
                        "the ResNet missed.")  # fmt: skip
    await models.move_alias(store, ana, "vision-defects", "defect-detector", "production", 2)
    await models.move_alias(store, ana, "vision-defects", "defect-detector", "staging", 2)
    _, newest, _ = await models.register(
        store, dmitri, await _best(store, "vision-defects", "vit-finetune"), "defect-detector",
        "s3://vision-models/defect-detector/vit-b16-f05.onnx",
        "Same as version 2 with stronger colour augmentation. @farah.haddad please review.",
        {"framework": "onnx"}, INPUTS,
    )  # fmt: skip
    await _review(store, settings, newest.id, [farah, await _as(store, "emi.tanaka")], dmitri)
    churn = await _best(store, "churn-forecast", "gbm-features-v2")
    await models.register(store, ben, churn, "churn-gbm",
                          "s3://growth-models/churn-gbm/lightgbm-v2.txt",
                          "LightGBM on 40 account features.", {"framework": "lightgbm"},
                          [("tenure_months", "int32"), ("plan", "string"),
                           ("tickets_90d", "int32")])  # fmt: skip
    await models.move_alias(store, ben, "churn-forecast", "churn-gbm", "production", 1)
    return 4
