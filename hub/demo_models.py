"""The demo team's models: a defect detector with one version in production, a better one that
passed its checks and review, and the newest one waiting for the quality engineer's verdict; and
the churn model in production. Written as the people who did it, through the services."""

from __future__ import annotations

from hub.demo_discussions import _as
from hub.services import models, runs
from hub.services.model_policy import CheckSpec, Policy
from hub.services.principal import SYSTEM
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


async def load_models(store: Store) -> int:
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
    await models.register(
        store, dmitri, await _best(store, "vision-defects", "vit-finetune"), "defect-detector",
        "s3://vision-models/defect-detector/vit-b16-f05.onnx",
        "Same as version 2 with stronger colour augmentation. @farah.haddad please review.",
        {"framework": "onnx"}, INPUTS,
    )  # fmt: skip
    churn = await _best(store, "churn-forecast", "gbm-features-v2")
    await models.register(store, ben, churn, "churn-gbm",
                          "s3://growth-models/churn-gbm/lightgbm-v2.txt",
                          "LightGBM on 40 account features.", {"framework": "lightgbm"},
                          [("tenure_months", "int32"), ("plan", "string"),
                           ("tickets_90d", "int32")])  # fmt: skip
    await models.move_alias(store, ben, "churn-forecast", "churn-gbm", "production", 1)
    return 4
