"""Reading an upload in a worker process of its own (``dataset_worker``, held to
SALON_DATASET_WORKER_MEMORY_MB and _SECONDS): CSV or Parquet in, one Parquet file with its
schema and profile out. A file that is too big, too slow or malformed costs the worker, never
the hub."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import resource
import sys
from pathlib import Path
from typing import Any

from hub.domain.data import Column
from hub.settings import Settings
from hub.store.remote import S3Access

# Run as a plain script (-I: isolated, not as part of the hub package): the reader imports only
# DuckDB, starts fast and needs little memory of its own.
WORKER = Path(__file__).with_name("dataset_worker")  # a folder, run by its __main__.py


@dataclasses.dataclass(frozen=True, slots=True)
class Converted:
    """What the worker made of an upload: a Parquet file (the upload itself when ``kept``),
    its shape and profile."""

    rows: int
    schema: tuple[Column, ...]
    profile: dict[str, Any]  # empty when not asked for
    kept: bool = False
    row_group_rows: int = 0  # the rows of the file's biggest row group


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """What a worker may use: its address space, its time and what it may write."""

    memory_mb: int
    seconds: float
    output_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The hub's: SALON_DATASET_WORKER_MEMORY_MB and _SECONDS, and an output of up to four
        times SALON_MAX_DATASET_BYTES."""
        return cls(
            settings.dataset_worker_memory_mb,
            settings.dataset_worker_seconds,
            settings.max_dataset_bytes * 4,
        )


class ConversionError(Exception):
    """The worker could not read the file; the message says why, in words for people."""


def _held_to(limits: Limits, niceness: int) -> Any:
    memory_bytes, output_bytes = limits.memory_mb * 1024 * 1024, limits.output_bytes

    def apply() -> None:  # runs in the child, before it starts
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (output_bytes, output_bytes))
        os.nice(niceness)

    return apply


async def convert(
    source: Path | str,
    kind: str,
    target: Path,
    limits: Limits,
    *,
    s3: S3Access | None = None,
    rewrite: str = "always",
    kept_row_group_rows: int | None = None,
    profiled: bool = True,
    niceness: int = 0,
) -> Converted:
    """Parse ``source`` (a file, or an ``s3://`` address read with ``s3``) in a separate
    process held to ``limits`` (``hub.store.dataset_worker``) and write it to
    ``target`` as Parquet; with ``rewrite`` "when needed", a Parquet file the hub reads well
    (row groups of at most ``kept_row_group_rows``, or the worker's default) is kept as it came
    instead (``Converted.kept``), and with "never" only profiled. ``profiled`` false: only
    written (or kept), with an empty profile. ``niceness``: how much lower than the hub's the
    worker's priority is (for work nobody waits on)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        str(WORKER),
        str(source),
        kind,
        str(target),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_held_to(limits, niceness),
    )
    given: dict[str, Any] = {"rewrite": rewrite, "profile": profiled}
    if kept_row_group_rows is not None:
        given["row_group_rows"] = kept_row_group_rows
    options = json.dumps({**(s3.for_worker() if s3 else {}), **given}).encode()
    try:
        out, err = await asyncio.wait_for(process.communicate(options), timeout=limits.seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ConversionError(
            f"Reading the file took longer than {limits.seconds:.0f} s; split it or send Parquet."
        ) from None
    except asyncio.CancelledError:  # the hub stopping, or the request given up: the worker too
        process.kill()
        await process.wait()  # its pipes closed while the loop still runs
        raise
    try:
        result = json.loads(out.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        # No answer: the process was killed by a limit, or died trying to allocate memory.
        text = err.decode(errors="replace").lower()
        memory = "memory" in text or "bad_alloc" in text or "cannot allocate" in text
        if memory or (process.returncode or 0) < 0:
            raise ConversionError(
                "Reading the file needed more memory or output than an upload may use; split "
                "it or send Parquet."
            ) from None
        raise ConversionError(
            f"The file could not be read (the reader stopped with status {process.returncode})."
        ) from None
    if "error" in result:
        raise ConversionError(result["error"])
    schema = tuple(Column(c["name"], c["type"]) for c in result["schema"])
    return Converted(
        result["rows"],
        schema,
        result["profile"],
        bool(result.get("kept")),
        int(result.get("row_group_rows") or 0),
    )
