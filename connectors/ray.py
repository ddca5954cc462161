"""A Ray cluster, read and driven through its dashboard's public HTTP APIs.

- Nodes and their resources: the state API (``/api/v0/nodes``).
- What is in use on each node: the dashboard's cluster status (``/api/cluster_status``, the
  autoscaler's per-node usage).
- Jobs: the Jobs REST API (``/api/jobs/``): list, submit, stop, logs.
- Actors and tasks holding GPUs: the state API (``/api/v0/actors``, ``/api/v0/tasks``), each
  traced to the submitted job it belongs to, or to none (a notebook's ``ray.init()``).

Nothing here imports ``ray``: the hub stays small, and a cluster of another Ray version can be
read as long as these documented endpoints answer. Every failure (unreachable, refused, odd
answer) becomes one :class:`ConnectorError` whose message says what to check.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.base import Connector, ConnectorError

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# Ray's dashboard waits up to 10 s (WAIT_AVAILABLE_AGENT_TIMEOUT) for a job agent before it
# answers "No available agent": a submission waits longer, so Ray's own answer comes through.
SUBMIT_TIMEOUT = httpx.Timeout(30.0, connect=3.0)
NO_AGENT = "No available agent"
FINAL = ("SUCCEEDED", "FAILED", "STOPPED")
DRIVER = "driver-"  # the key of a job without a submission id


@dataclasses.dataclass(frozen=True, slots=True)
class Node:
    node_id: str
    address: str
    alive: bool
    is_head: bool
    cpus: float
    cpus_used: float
    gpus: float
    gpus_used: float
    memory_bytes: float
    gpu_utilization: float | None = None  # mean % over the node's GPUs, when reported
    gpu_memory_used_mb: float | None = None
    gpu_memory_total_mb: float | None = None
    name: str = ""  # Ray's node name: its host name when set (--node-name), else its address


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    submission_id: str
    status: str  # PENDING | RUNNING | SUCCEEDED | FAILED | STOPPED
    entrypoint: str
    metadata: dict[str, str]
    started_at: datetime | None
    ended_at: datetime | None
    message: str

    @property
    def finished(self) -> bool:
        return self.status in FINAL

    @property
    def submitted(self) -> bool:
        """Whether it came through the Jobs API (else a driver started by hand, see _job)."""
        return not self.submission_id.startswith(DRIVER)


@dataclasses.dataclass(frozen=True, slots=True)
class Holder:
    """An actor or a running task that holds GPUs."""

    kind: str  # actor | task
    holder_id: str
    name: str
    node_id: str
    gpus: float
    ray_job_id: str | None
    submission_id: str | None  # the job submitted through the Jobs API it runs for, if any
    pid: int | None
    started_at: datetime | None


SUPERVISOR = "_ray_internal_job_actor_"  # Ray's name for the actor running a job's entrypoint
CREATING = "ACTOR_CREATION_TASK"  # the type of the task that runs an actor's __init__
LISTED = 10_000


def _time(millis: Any) -> datetime | None:
    return datetime.fromtimestamp(millis / 1000, UTC) if millis else None


def _holder(kind: str, row: dict[str, Any], gpus: float, submitted: dict[str, str]) -> Holder:
    """One row of Ray's actors or tasks as a holder; ``submitted`` maps Ray job ids to the
    submissions they run."""
    held_by = row.get("actor_id") if kind == "actor" else row.get("task_id")
    name = str(row.get("name") or row.get("class_name") or row.get("func_or_class_name") or "")
    job_id = row.get("job_id") or None
    submission = (
        name.removeprefix(SUPERVISOR) if name.startswith(SUPERVISOR) else submitted.get(str(job_id))
    )
    pid = row.get("pid") or row.get("worker_pid")
    return Holder(
        kind,
        str(held_by or ""),
        str(row.get("class_name") or row.get("func_or_class_name") or name),
        str(row.get("node_id") or ""),
        gpus,
        job_id,
        submission,
        int(pid) if pid else None,
        _time(row.get("start_time_ms")),
    )


class RayCluster(Connector):
    """A Ray cluster at its dashboard address (``http://host:8265``)."""

    name = "ray"

    def __init__(self, address: str, token: str = "") -> None:
        super().__init__(address.rstrip("/"))
        # A cluster with Ray's token authentication (RAY_AUTH_MODE=token) wants it on every call.
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.address, timeout=TIMEOUT, headers=headers)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            waited = kwargs.get("timeout", TIMEOUT).read
            raise ConnectorError(
                f"The Ray cluster at {self.address} did not answer {method} {path} within "
                f"{waited:.0f} s."
            ) from None
        except httpx.HTTPError as exc:
            raise ConnectorError(
                f"Cannot reach the Ray cluster at {self.address} ({type(exc).__name__}). Is its "
                "head node up, and is this its dashboard address?"
            ) from None
        if response.status_code in (401, 403):
            raise ConnectorError(
                f"The Ray cluster at {self.address} runs with token authentication and "
                f"{'refused the token given' if response.status_code == 403 else 'wants a token'}"
                ": set SALON_RAY_TOKEN to its RAY_AUTH_TOKEN."
            )
        if response.status_code == 404 and "/api/jobs/" in path:
            raise ConnectorError("Ray knows no such job.")
        if response.status_code >= 500 and NO_AGENT in response.text:
            raise ConnectorError(
                f"The Ray cluster at {self.address} has no job agent to take the job (Ray said: "
                f"{response.text.strip()[:200]!r}). The head's dashboard agent did not start or "
                "does not answer: if another Ray runs on this machine, they may share ports."
            )
        if response.status_code >= 400:
            raise ConnectorError(
                f"The Ray cluster at {self.address} refused {method} {path}: "
                f"HTTP {response.status_code} {response.text[:200]}"
            )
        try:
            return response.json()
        except ValueError:
            return response.text

    def check(self) -> None:
        self._call("GET", "/api/version")

    def nodes(self) -> list[Node]:
        """Every node with its CPUs, GPUs and memory, and how many CPUs and GPUs are in use."""
        listed = self._call("GET", "/api/v0/nodes", params={"detail": "true", "limit": 10_000})
        status = self._call("GET", "/api/cluster_status")
        try:
            rows = listed["data"]["result"]["result"]
            usage = status["data"]["clusterStatus"]["loadMetricsReport"].get("usageByNode") or {}
        except (KeyError, TypeError):
            raise ConnectorError(
                "The Ray cluster's answer about its nodes is not understood (is it Ray 2.x?)."
            ) from None
        devices = self._gpu_devices()
        found = []
        for row in rows:
            total = row.get("resources_total") or {}
            used = usage.get(row["node_id"], {})
            reported = devices.get(row["node_id"], [])
            utilization = [
                float(d["utilizationGpu"]) for d in reported if d.get("utilizationGpu") is not None
            ]
            memory_used = [
                float(d["memoryUsed"]) for d in reported if d.get("memoryUsed") is not None
            ]
            memory_total = [
                float(d["memoryTotal"]) for d in reported if d.get("memoryTotal") is not None
            ]
            found.append(
                Node(
                    row["node_id"],
                    row.get("node_ip", ""),
                    row.get("state") == "ALIVE",
                    bool(row.get("is_head_node")),
                    float(total.get("CPU", 0)),
                    float(used.get("CPU", [0])[0]),
                    float(total.get("GPU", 0)),
                    float(used.get("GPU", [0])[0]),
                    float(total.get("memory", 0)),
                    sum(utilization) / len(utilization) if utilization else None,
                    sum(memory_used) if memory_used else None,
                    sum(memory_total) if memory_total else None,
                    str(row.get("node_name") or row.get("node_ip") or ""),
                )
            )
        return found

    def _gpu_devices(self) -> dict[str, list[dict[str, Any]]]:
        """Per node id, the GPUs its dashboard agent reports (empty when it reports none, as
        on nodes with logical GPUs only). Best effort: an odd answer reports nothing."""
        try:
            summary = self._call("GET", "/nodes", params={"view": "summary"})
            nodes = summary["data"]["summary"]
        except (ConnectorError, KeyError, TypeError):
            return {}
        found: dict[str, list[dict[str, Any]]] = {}
        for node in nodes:
            node_id = (node.get("raylet") or {}).get("nodeId")
            if node_id:
                found[node_id] = [g for g in node.get("gpus") or [] if isinstance(g, dict)]
        return found

    def gpu_holders(self) -> list[Holder]:
        """Live actors and running tasks that hold GPUs. A submitted job's entrypoint holds its
        GPUs through Ray's supervisor actor, which is named after the submission."""
        listed = self._call("GET", "/api/jobs/")
        submitted = {
            str(j["job_id"]): str(j["submission_id"])
            for j in listed
            if isinstance(j, dict) and j.get("job_id") and j.get("submission_id")
        }
        found: list[Holder] = []
        for kind, path, state in (
            ("actor", "/api/v0/actors", "ALIVE"),
            ("task", "/api/v0/tasks", "RUNNING"),
        ):
            params = {
                "detail": "true",
                "limit": LISTED,
                "filter_keys": "state",
                "filter_predicates": "=",
                "filter_values": state,
            }
            answer = self._call("GET", path, params=params)
            try:
                rows = answer["data"]["result"]["result"]
            except (KeyError, TypeError):
                raise ConnectorError(
                    f"The Ray cluster's answer about its {kind}s is not "
                    "understood (is it Ray 2.x?)."
                ) from None
            alive = {h.holder_id for h in found}
            for row in rows:
                gpus = float((row.get("required_resources") or {}).get("GPU", 0))
                if gpus <= 0 or row.get("state") != state:
                    continue
                if row.get("type") != CREATING:
                    found.append(_holder(kind, row, gpus, submitted))
                elif row.get("actor_id") not in alive:
                    # An actor holds its GPUs from its __init__ on, and Ray reports it alive a
                    # moment before that task ends: the task is the actor, listed once.
                    name = str(row.get("func_or_class_name") or "").removesuffix(".__init__")
                    found.append(_holder("actor", {**row, "class_name": name}, gpus, submitted))
        return found

    def jobs(self) -> list[Job]:
        return [self._job(item) for item in self._call("GET", "/api/jobs/")]

    def job(self, submission_id: str) -> Job:
        return self._job(self._call("GET", f"/api/jobs/{submission_id}"))

    @staticmethod
    def _job(item: dict[str, Any]) -> Job:
        metadata = {k: str(v) for k, v in (item.get("metadata") or {}).items()}
        # A driver started by hand (a notebook's ray.init()) has no submission id; its Ray job id
        # starts again at 01000000 when the head restarts, so its start time makes it unique.
        key = item.get("submission_id") or f"{DRIVER}{item.get('job_id')}-{item.get('start_time')}"
        return Job(
            key,
            item.get("status", "PENDING"),
            item.get("entrypoint", ""),
            metadata,
            _time(item.get("start_time")),
            _time(item.get("end_time")),
            item.get("message") or "",
        )

    def submit(
        self,
        submission_id: str,
        entrypoint: str,
        *,
        gpus: float,
        cpus: float,
        metadata: dict[str, str],
        working_dir: str | None = None,
        env: dict[str, str] | None = None,
    ) -> str:
        body: dict[str, Any] = {
            "entrypoint": entrypoint,
            "submission_id": submission_id,
            "metadata": metadata,
            "entrypoint_num_gpus": gpus,
            "entrypoint_num_cpus": cpus,
        }
        runtime_env: dict[str, Any] = {}
        if working_dir:
            runtime_env["working_dir"] = working_dir
        if env:
            runtime_env["env_vars"] = env
        if runtime_env:
            body["runtime_env"] = runtime_env
        answer = self._call("POST", "/api/jobs/", json=body, timeout=SUBMIT_TIMEOUT)
        return str(answer.get("submission_id", submission_id))

    def stop(self, submission_id: str) -> bool:
        answer = self._call("POST", f"/api/jobs/{submission_id}/stop")
        return bool(answer.get("stopped")) if isinstance(answer, dict) else False

    def logs(self, submission_id: str) -> str:
        answer = self._call("GET", f"/api/jobs/{submission_id}/logs")
        return str(answer.get("logs", "")) if isinstance(answer, dict) else str(answer)

    def close(self) -> None:
        self._http.close()
