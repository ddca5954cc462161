"""The Ray connector's reading of what a cluster reports, against an HTTP server answering with
Ray 2.x's documented shapes, for what the local test cluster cannot show (physical GPUs with
utilisation and memory), and its one error for every failure."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from connectors.base import ConnectorError
from connectors.ray import RayCluster
from tests.conftest import free_port

NODE = "9e647fb7977d50d24509413a08b7e7e555ae31d8b2025336162e30e9"
ANSWERS: dict[str, Any] = {
    "/api/v0/nodes": {
        "result": True,
        "data": {
            "result": {
                "result": [
                    {
                        "node_id": NODE,
                        "node_ip": "10.0.0.5",
                        "is_head_node": True,
                        "state": "ALIVE",
                        "resources_total": {"CPU": 32.0, "GPU": 2.0, "memory": 2.5e11},
                    }
                ]
            }
        },
    },
    "/api/cluster_status": {
        "data": {
            "clusterStatus": {
                "loadMetricsReport": {
                    "usageByNode": {NODE: {"CPU": [4.0, 32.0], "GPU": [1.0, 2.0]}}
                }
            }
        }
    },
    "/nodes": {
        "data": {
            "summary": [
                {
                    "raylet": {"nodeId": NODE},
                    "gpus": [
                        {
                            "index": 0,
                            "name": "NVIDIA A100",
                            "utilizationGpu": 90,
                            "memoryUsed": 30000,
                            "memoryTotal": 40960,
                        },
                        {
                            "index": 1,
                            "name": "NVIDIA A100",
                            "utilizationGpu": 10,
                            "memoryUsed": 1000,
                            "memoryTotal": 40960,
                        },
                    ],
                }
            ]
        }
    },
}


@pytest.fixture
def fake_ray() -> Iterator[tuple[str, dict[str, Any]]]:
    answers = dict(ANSWERS)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path not in answers:
                self.send_response(500)
                self.end_headers()
                return
            body = json.dumps(answers[path]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # Ray without a job agent: it waits 10 s, then says so
            time.sleep(10.5)
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"No available agent to submit job, please try again later.")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answers
    finally:
        server.shutdown()
        server.server_close()


def test_physical_gpus_report_utilisation_and_memory(fake_ray: tuple[str, Any]) -> None:
    address, _ = fake_ray
    (node,) = RayCluster(address).nodes()
    assert (node.gpus, node.gpus_used, node.cpus, node.cpus_used) == (2.0, 1.0, 32.0, 4.0)
    assert node.gpu_utilization == 50.0
    assert (node.gpu_memory_used_mb, node.gpu_memory_total_mb) == (31000.0, 81920.0)


def test_a_node_without_a_summary_still_reads(fake_ray: tuple[str, Any]) -> None:
    address, answers = fake_ray
    del answers["/nodes"]  # the agent's summary fails: the node reads without GPU details
    (node,) = RayCluster(address).nodes()
    assert node.gpus == 2.0 and node.gpu_utilization is None


def test_every_failure_is_one_connector_error(fake_ray: tuple[str, Any]) -> None:
    address, answers = fake_ray
    answers["/api/cluster_status"] = {"unexpected": True}
    with pytest.raises(ConnectorError, match="not understood"):
        RayCluster(address).nodes()
    with pytest.raises(ConnectorError, match="refused GET /api/jobs/"):
        RayCluster(address).jobs()
    with pytest.raises(ConnectorError, match="Cannot reach the Ray cluster"):
        RayCluster(f"http://127.0.0.1:{free_port()}").nodes()


def test_gpu_holders_are_traced_to_their_jobs(fake_ray: tuple[str, Any]) -> None:
    """A submitted job's tasks are traced through Ray's job id, its entrypoint through the
    supervisor actor's name; a driver started by hand is no submitted job, and is told apart
    from a later one that reuses its Ray job id after a head restart."""
    address, answers = fake_ray
    answers["/api/jobs/"] = [
        {
            "type": "SUBMISSION",
            "job_id": "02000000",
            "submission_id": "salon-1",
            "status": "RUNNING",
            "entrypoint": "python train.py",
            "start_time": 1700000000000,
        },
        {
            "type": "DRIVER",
            "job_id": "01000000",
            "submission_id": None,
            "status": "RUNNING",
            "entrypoint": "ipython",
            "start_time": 1700000001000,
        },
    ]
    answers["/api/v0/actors"] = {
        "data": {
            "result": {
                "result": [
                    {
                        "actor_id": "a1",
                        "class_name": "JobSupervisor",
                        "name": "_ray_internal_job_actor_salon-1",
                        "state": "ALIVE",
                        "job_id": "03000000",
                        "node_id": NODE,
                        "pid": 11,
                        "required_resources": {"GPU": 1.0},
                    },
                    {
                        "actor_id": "a2",
                        "class_name": "Trainer",
                        "name": "",
                        "state": "ALIVE",
                        "job_id": "01000000",
                        "node_id": NODE,
                        "pid": 12,
                        "required_resources": {"GPU": 0.5},
                    },
                    {
                        "actor_id": "a3",
                        "class_name": "Logger",
                        "name": "",
                        "state": "ALIVE",
                        "job_id": "01000000",
                        "node_id": NODE,
                        "pid": 13,
                        "required_resources": {"CPU": 1},
                    },
                ]
            }
        }
    }
    answers["/api/v0/tasks"] = {
        "data": {
            "result": {
                "result": [
                    {
                        "task_id": "t1",
                        "func_or_class_name": "train_shard",
                        "state": "RUNNING",
                        "job_id": "02000000",
                        "node_id": NODE,
                        "worker_pid": 14,
                        "start_time_ms": 1700000002000,
                        "required_resources": {"GPU": 2.0, "CPU": 1.0},
                    },
                    {
                        "task_id": "t2",
                        "type": "ACTOR_CREATION_TASK",
                        "func_or_class_name": "Trainer.__init__",
                        "actor_id": "a2",
                        "state": "RUNNING",
                        "job_id": "01000000",
                        "node_id": NODE,
                        "worker_pid": 12,
                        "required_resources": {"GPU": 0.5},
                    },
                    {
                        "task_id": "t3",
                        "type": "ACTOR_CREATION_TASK",
                        "func_or_class_name": "Evaluator.__init__",
                        "actor_id": "a4",
                        "state": "RUNNING",
                        "job_id": "01000000",
                        "node_id": NODE,
                        "worker_pid": 15,
                        "required_resources": {"GPU": 1.0},
                    },
                ]
            }
        }
    }
    found = {h.holder_id: h for h in RayCluster(address).gpu_holders()}
    assert set(found) == {"a1", "a2", "t1", "a4"}, "an actor without GPUs holds none"
    # Ray reports an actor alive a moment before its __init__ task ends: that is one holder.
    assert sum(h.gpus for h in found.values() if h.ray_job_id == "01000000") == 1.5
    assert (found["a4"].kind, found["a4"].name, found["a4"].pid) == ("actor", "Evaluator", 15)
    assert (found["a1"].submission_id, found["a1"].gpus) == ("salon-1", 1.0)
    assert (found["t1"].submission_id, found["t1"].name, found["t1"].pid) == (
        "salon-1",
        "train_shard",
        14,
    )
    assert found["t1"].started_at is not None
    assert (found["a2"].submission_id, found["a2"].ray_job_id) == (None, "01000000")
    jobs = {j.submission_id: j for j in RayCluster(address).jobs()}
    assert set(jobs) == {"salon-1", "driver-01000000-1700000001000"}
    answers["/api/v0/tasks"] = {"data": {}}
    with pytest.raises(ConnectorError, match="tasks is not understood"):
        RayCluster(address).gpu_holders()


def test_a_submission_reports_ray_s_own_refusal(fake_ray: tuple[str, Any]) -> None:
    """Ray answers a submission it cannot place after waiting 10 s for a job agent: that answer
    is what the person sees (the connector gave up at 10 s with "did not answer in time")."""
    address, _ = fake_ray
    with pytest.raises(ConnectorError, match="no job agent") as refused:
        RayCluster(address).submit("salon-1", "python train.py", gpus=1, cpus=1, metadata={})
    assert "No available agent to submit job" in str(refused.value)
