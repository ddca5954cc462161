"""The demo team's models: a defect detector with one version in production, a better one that
passed its checks and review, and the newest one waiting for the quality engineer's verdict; and
the churn model in production. Written as the people who did it, through the services."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from hub.demo.datasets import DEFECTS, LINES
from hub.demo.discussions import as_person
from hub.domain.registry import CheckSpec, Policy
from hub.services.data import dataset_uploads
from hub.services.policy.principal import SYSTEM, Principal
from hub.services.registry import promotion, registration, reviews
from hub.services.tracking import artifacts, runs
from hub.settings import Settings
from hub.store import Store

INPUTS = [
    ("image", "binary"),
    ("line", "string"),
    ("camera_id", "int32"),
    ("exposure_ms", "float32"),
]
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
    page = await runs.search_runs(
        store,
        SYSTEM,
        project,
        f"experiment = '{experiment}' and status = 'finished'",
        ["metrics.`val/acc` desc"],
        5,
        None,
        500,
    )
    return page.runs[min(rank, len(page.runs) - 1)].id


def _predictions(rows: int, seed: int, run_id: str) -> pa.Table:
    """What version 3 said about parts it had not seen, next to what the inspectors found; each
    part's camera image is an artifact of the run that made version 3."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(DEFECTS, rows)
    wrong = rng.random(rows) < 0.12
    predicted = np.where(wrong, rng.choice(DEFECTS, rows), truth)
    return pa.table(
        {
            "part_id": np.arange(200_000, 200_000 + rows),
            "line": rng.choice(LINES, rows),
            "camera": rng.choice(["cam-1", "cam-2", "cam-3", "cam-4"], rows),
            "image": [image_address(run_id, 200_000 + i) for i in range(rows)],
            "confidence": np.round(rng.beta(8, 2, rows), 3),
            "prediction": predicted,
            "inspector_verdict": truth,
        }
    )


def image_address(run_id: str, part_id: int) -> str:
    return f"runs:/{run_id}/line-camera/2026-11/{part_id}.png"


def part_image(defect: str, seed: int) -> bytes:
    """A camera picture of a part's brushed-metal surface, with its defect drawn on it."""
    rng = np.random.default_rng(seed)
    size = 160
    grain = rng.normal(0, 6, (size, 1)) + rng.normal(0, 3, (size, size))  # brushed: rows
    surface = np.clip(150 + grain + np.linspace(-12, 12, size)[None, :], 0, 255)
    picture = Image.fromarray(np.repeat(surface[:, :, None], 3, axis=2).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    x, y = (int(v) for v in rng.integers(40, 120, 2))
    if defect == "scratch":
        draw.line([(x - 45, y - 30), (x + 45, y + 25)], fill=(225, 225, 230), width=2)
    elif defect == "dent":
        for radius, shade in ((22, 120), (15, 100), (8, 80)):
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(shade,) * 3)
    elif defect == "discoloration":
        tint = Image.new("RGB", picture.size, (150, 105, 60))
        mask = Image.new("L", picture.size, 0)
        ImageDraw.Draw(mask).ellipse([x - 35, y - 25, x + 35, y + 25], fill=110)
        picture.paste(tint, mask=mask)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


async def _images(
    store: Store, person: Principal, run_id: str, table: pa.Table, rows: list[int]
) -> None:
    """The camera images of the parts under review, logged with the run that judged them."""
    for row in rows:
        part_id = int(table["part_id"][row].as_py())
        picture = part_image(str(table["inspector_verdict"][row].as_py()), part_id)
        path = image_address(run_id, part_id).removeprefix(f"runs:/{run_id}/")

        async def receive(target: Path, picture: bytes = picture) -> None:
            target.write_bytes(picture)

        await artifacts.upload(store, person, "run", run_id, path, receive)


async def _review(
    store: Store, settings: Settings, version_id: str, people: list[Principal], dmitri: Principal
) -> None:
    """Version 3's predictions on held-out parts, half-way through review by two experts."""
    run_id = (await store.models.versions_by_ids([version_id]))[version_id].run_id or ""
    table = _predictions(600, 41, run_id)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "predictions.parquet"
        pq.write_table(table, path)
        await dataset_uploads.upload(
            store,
            settings,
            dmitri,
            "vision-defects",
            "detector-v3-predictions",
            path,
            "predictions.parquet",
            "parquet",
            "Version 3 on 600 held-out parts from November",
            hand_over=True,  # a temporary file
        )
    queue = await reviews.start(
        store,
        dmitri,
        version_id,
        "detector-v3-predictions",
        "prediction",
        truth_column="inspector_verdict",
        size=40,
        per_item=2,
        seed=3,
        instructions="Look at the **image** and say whether the defect is right. Hairline "
        "scratches on line C count as scratches.",
    )
    await _images(store, dmitri, run_id, table, await store.reviews.items(queue.id))
    samples = (await reviews.samples(store, people[0], queue.id, offset=0, limit=40)).samples
    for person, count in zip(people, (14, 9), strict=True):
        for sample in samples[:count]:
            right = sample.prediction if sample.position % 7 else "scratch"
            ok = right == sample.prediction or (person is people[1] and sample.position == 7)
            await reviews.judge(store, person, queue.id, sample.position, ok, None if ok else right)


async def load_models(store: Store, settings: Settings) -> int:
    """Register the demo's model versions; returns how many."""
    names = ("ana.silva", "dmitri.volkov", "farah.haddad", "ben.okafor")
    ana, dmitri, farah, ben = [await as_person(store, n) for n in names]
    baseline = await _best(store, "vision-defects", "resnet-baseline")
    await registration.register(
        store,
        ana,
        baseline,
        "defect-detector",
        "s3://vision-models/defect-detector/resnet50-b07.onnx",
        "ResNet-50 on line A and B images.",
        {"framework": "onnx"},
        INPUTS,
    )
    await promotion.move_alias(store, ana, "vision-defects", "defect-detector", "production", 1)
    await registration.set_policy(store, ana, "vision-defects", "defect-detector", DETECTOR_POLICY)
    _, vit, _ = await registration.register(
        store,
        dmitri,
        await _best(store, "vision-defects", "vit-finetune", 1),
        "defect-detector",
        "s3://vision-models/defect-detector/vit-b16-f03.onnx",
        "ViT-B/16 fine-tuned with line C images.",
        {"framework": "onnx"},
        INPUTS,
    )
    await promotion.review(
        store,
        farah,
        vit.id,
        "approve",
        "Checked 40 scratch images from line C: it catches the hairline ones the ResNet missed.",
    )
    await promotion.move_alias(store, ana, "vision-defects", "defect-detector", "production", 2)
    await promotion.move_alias(store, ana, "vision-defects", "defect-detector", "staging", 2)
    _, newest, _ = await registration.register(
        store,
        dmitri,
        await _best(store, "vision-defects", "vit-finetune"),
        "defect-detector",
        "s3://vision-models/defect-detector/vit-b16-f05.onnx",
        "Same as version 2 with stronger colour augmentation. @farah.haddad please review.",
        {"framework": "onnx"},
        INPUTS,
    )
    await _review(store, settings, newest.id, [farah, await as_person(store, "emi.tanaka")], dmitri)
    churn = await _best(store, "churn-forecast", "gbm-features-v2")
    await registration.register(
        store,
        ben,
        churn,
        "churn-gbm",
        "s3://growth-models/churn-gbm/lightgbm-v2.txt",
        "LightGBM on 40 account features.",
        {"framework": "lightgbm"},
        [("tenure_months", "int32"), ("plan", "string"), ("tickets_90d", "int32")],
    )
    await promotion.move_alias(store, ben, "churn-forecast", "churn-gbm", "production", 1)
    return 4
