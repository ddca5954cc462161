"""Demo datasets: what the demo team's projects train on, a few thousand rows each."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hub.services.data import dataset_uploads, datasets
from hub.services.policy.principal import Principal
from hub.services.tracking import lineage, runs
from hub.settings import Settings
from hub.store import Store

LINES = ("A", "B", "C")
DEFECTS = ("none", "none", "none", "none", "scratch", "dent", "discoloration")
PLANS = ("basic", "standard", "premium")
TOPICS = ("billing", "login", "shipping", "refund", "bug report")


def _inspections(rows: int, seed: int, drift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    defect = rng.choice(DEFECTS, rows)
    area = np.where(defect == "none", 0.0, np.round(rng.gamma(2.0, 3.5, rows), 1))
    return pa.table(
        {
            "part_id": np.arange(100_000, 100_000 + rows),
            "line": rng.choice(LINES, rows),
            "camera": rng.choice(["cam-1", "cam-2", "cam-3", "cam-4"], rows),
            "exposure_ms": np.round(rng.normal(8.0 + drift, 0.6, rows), 2),
            "surface_temp_c": np.round(rng.normal(41.5 + drift, 2.8, rows), 1),
            "defect": defect,
            "defect_area_mm2": area,
            "inspector_email": [f"inspector{i % 12:02d}@plant.example" for i in range(rows)],
        }
    )


def _subscribers(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows)
    monthly = np.round(rng.choice([9.99, 19.99, 39.99], rows) + rng.normal(0, 1.5, rows), 2)
    risk = 1 / (1 + np.exp(0.08 * tenure - 2.0 + rng.normal(0, 0.8, rows)))
    return pa.table(
        {
            "customer_id": [f"C{n:06d}" for n in rng.choice(900_000, rows, replace=False)],
            "plan": rng.choice(PLANS, rows),
            "tenure_months": tenure,
            "monthly_spend": monthly,
            "support_calls_90d": rng.poisson(1.2, rows),
            "churned": rng.random(rows) < risk,
        }
    )


def _tickets(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    topic = rng.choice(TOPICS, rows)
    return pa.table(
        {
            "ticket_id": np.arange(50_000, 50_000 + rows),
            "topic": topic,
            "customer_email": [f"customer{n}@mail.example" for n in rng.integers(1, 4000, rows)],
            "words": rng.integers(12, 400, rows),
            "first_reply_minutes": np.round(rng.lognormal(3.2, 0.7, rows), 0),
            "resolved": rng.random(rows) < 0.86,
        }
    )


async def load_datasets(store: Store, settings: Settings, principal: Principal) -> int:
    """The demo projects' datasets (two versions of the inspections, to compare); the columns
    holding e-mail addresses are tagged as personal data. Returns the versions made."""
    vision, inspections = "vision-defects", "line-inspections"
    uploads = [
        (vision, inspections, _inspections(4000, 11), "March export from the line cameras"),
        (vision, inspections, _inspections(4500, 12, 0.4), "April: cam-3 re-aimed, 500 more parts"),
        ("churn-forecast", "subscribers", _subscribers(3000, 21), "Active and churned, Q1"),
        ("support-llm", "tickets", _tickets(2500, 31), "Resolved tickets, Q1"),
    ]
    made = 0
    with tempfile.TemporaryDirectory() as folder:
        for index, (project, name, table, message) in enumerate(uploads):
            path = Path(folder) / f"{name}-{index}.parquet"
            pq.write_table(table, path)
            _, created = await dataset_uploads.upload(
                store,
                settings,
                principal,
                project,
                name,
                path,
                f"{name}.parquet",
                "parquet",
                message,
                hand_over=True,  # a temporary file
            )
            made += created
    await _lineage(store, principal)
    for project, name, column, description in (
        ("vision-defects", "line-inspections", "inspector_email", "Who signed off the part"),
        ("support-llm", "tickets", "customer_email", "The customer who wrote in"),
    ):
        found = await datasets.find(store, principal, project, name)
        await datasets.describe_column(store, principal, found, column, description, True)
    return made


async def _lineage(store: Store, principal: Principal) -> None:
    """The vision runs trained on the inspections: the older half on version 1, the rest on
    version 2; the churn runs on the subscribers."""
    for project, name, split in (
        ("vision-defects", "line-inspections", True),
        ("churn-forecast", "subscribers", False),
    ):
        page = await runs.search_runs(
            store, principal, project, None, ["started_at asc"], 200, None, 500
        )
        for index, run in enumerate(page.runs):
            number = (1 if index < len(page.runs) // 2 else 2) if split else 1
            await lineage.use_dataset(store, principal, run.id, project, name, number)
