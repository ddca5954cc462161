"""A 2 GB upload streams through the hub: the hub's memory stays flat while the bytes go to
disk and the reader process converts them."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import hub
from tests.conftest import start_hub

GIB = 1024**3


NOTES = (
    "Checked under the lamp at the end of the shift; the surface looked even and the edges "
    "were clean.",
    "Second look requested by the line lead: a faint mark near the mounting hole, probably "
    "from handling.",
    "Camera frame slightly blurred, operator confirmed by eye; no defect found on the visible "
    "faces.",
    "Sensor reading drifted for a few seconds before settling; part re-measured and kept in "
    "the batch.",
)


def write_csv(path: Path, size: int) -> int:
    """A CSV of about ``size`` bytes: a block of 100,000 varied inspection rows with the
    inspector's note, repeated with new part ids. Returns the number of rows written. (Each
    block is joined by Arrow: its string array's bytes are the block's lines, written as they
    are.) The notes make rows of about 130 bytes: the hub streams the same 2 GB, and the
    reader converts 16 million rows rather than the 94 million of notes-free rows (35 s of
    the suite's slowest test)."""
    rng = np.random.default_rng(7)
    block = 100_000
    lines = rng.choice(["A", "B", "C"], block)
    temperatures = np.round(rng.normal(41.5, 3.2, block), 2)
    defects = rng.choice(["none", "scratch", "dent"], block)
    notes = rng.choice(len(NOTES), block)
    tail = pa.array(
        [
            f',{lines[i]},{temperatures[i]},{defects[i]},"{NOTES[notes[i]]} Bay {i % 40}."\n'
            for i in range(block)
        ]
    )
    rows = 0
    with path.open("wb") as out:
        out.write(b"part_id,line,temperature_c,defect,note\n")
        while out.tell() < size:
            ids = pc.cast(pa.array(np.arange(rows, rows + block)), pa.string())
            text = pc.binary_join_element_wise(ids, tail, "")
            offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=block + 1)
            out.write(memoryview(text.buffers()[2])[offsets[0] : offsets[-1]])
            rows += block
    return rows


@pytest.mark.slow
def test_a_2_gb_upload_keeps_the_hub_s_memory_flat(tmp_path: Path) -> None:
    source = tmp_path / "inspections.csv"
    rows = write_csv(source, 2 * GIB)
    assert source.stat().st_size >= 2 * GIB
    me = psutil.Process()  # the hub serves from a thread of this process
    peak = baseline = me.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.1):
            peak = max(peak, me.memory_info().rss)

    for live in start_hub(tmp_path / "hub", demo=False, max_upload_bytes=3 * GIB):
        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        try:
            made = hub.Client(live.url, live.token).upload_dataset("plant", "inspections", source)
        finally:
            done.set()
            watcher.join()
        assert (made["version"], made["rows"]) == (1, rows)
        assert peak - baseline < 400 * 1024**2, (
            f"the hub grew by {(peak - baseline) / 1024**2:.0f} MB during a 2 GB upload"
        )
        assert not list((tmp_path / "hub" / "tmp").glob("*")), "no scratch left"
