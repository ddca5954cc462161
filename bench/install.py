"""``python -m bench.install``: what a data scientist installs to log runs from a notebook, Salon's
light client against MLflow's and W&B's, side by side: distributions and size on disk.

Each goes into a fresh virtual environment under ``bench/.work/install/`` (uv, from the package
index); Salon from the wheel of this checkout, without extras. Prints a table and writes
``bench/.work/install.json``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work" / "install"
UV = Path(sys.executable).parent / "uv"


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


class Installed(TypedDict):
    """One client's install: its distributions and their bytes on disk."""

    name: str
    distributions: int
    bytes: int


def measure(name: str, requirement: str) -> Installed:
    venv = WORK / name
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([str(UV), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(UV), "pip", "install", "-q", "--python", str(python), requirement], check=True
    )
    listed = subprocess.run(
        [str(UV), "pip", "list", "--python", str(python), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {"name": name, "distributions": len(json.loads(listed)), "bytes": _size(Path(site))}


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    dist = WORK / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    subprocess.run(
        [str(UV), "build", "--wheel", "-q", "--out-dir", str(dist), str(ROOT)], check=True
    )
    (wheel,) = dist.glob("salon-*.whl")
    rows = [
        measure("salon", str(wheel)),
        measure("mlflow-skinny", "mlflow-skinny"),
        measure("wandb", "wandb"),
    ]
    salon = rows[0]
    print(f"{'client':<16} {'distributions':>13} {'size':>10}  size vs Salon")
    for row in rows:
        ratio = row["bytes"] / salon["bytes"]
        print(
            f"{row['name']:<16} {row['distributions']:>13} "
            f"{row['bytes'] / 1e6:>8.0f} MB  {ratio:.2f}x"
        )
    (WORK.parent / "install.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
