"""A PostgreSQL 15 cluster of one's own, for the tests and the bench: ``initdb`` in a folder of
theirs, on a free port of 127.0.0.1, so that the machine's cluster is never touched and need
not run. Stopped by whoever started it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from bench.servers import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def run_sql(cluster: str, statement: str, database: str = "postgres") -> None:
    """One statement as the cluster's superuser (``cluster`` is host:port), in ``database``."""
    host, port = cluster.split(":")
    subprocess.run(
        [
            str(PG_BIN / "psql"),
            "-q",
            "-h",
            host,
            "-p",
            port,
            "-U",
            "postgres",
            "-d",
            database,
            "-c",
            statement,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


class PostgresCluster:
    """A PostgreSQL 15 cluster of the suite's own (``initdb`` in a temporary folder, on a free
    port of 127.0.0.1), so that the machine's cluster is never touched and need not run.
    PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` account, which
    owns its folder."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.data, sockets = folder, folder / "data", folder / "sockets"
        sockets.mkdir()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(folder, "postgres")
            shutil.chown(sockets, "postgres")
            folder.chmod(0o700)
            for parent in folder.parents:  # the account must reach its folder
                parent.chmod(parent.stat().st_mode | 0o001)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.options = f"-p {self.port} -k {sockets} -c listen_addresses=127.0.0.1"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self.start()

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(PG_BIN / program), *args]
        text = " ".join(f"'{part}'" for part in command)
        subprocess.run(
            ["su", "postgres", "-c", text] if self.as_root else command,
            check=check,
            capture_output=True,
        )

    def start(self) -> None:
        log = str(self.folder / "log")
        self._run("pg_ctl", "-D", str(self.data), "-o", self.options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "stop", check=False)


def new_database(cluster: str, template: str = "") -> str:
    """A new database in the cluster at ``cluster`` (host:port), empty or a copy of the
    database ``template`` (which nobody may be connected to); its URL."""
    name = f"salon_{uuid.uuid4().hex[:12]}"
    run_sql(cluster, f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return f"postgresql://postgres@{cluster}/{name}"
