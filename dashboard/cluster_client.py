"""The dashboard's operations on the GPU cluster: state, history, usage, jobs and bookings
(sent through ``dashboard.hub_client``, like every other operation)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.hub_client import HubError, _change, _post, _token, hub_url, read


def cluster() -> dict[str, Any]:
    result: dict[str, Any] = read("Cluster")["cluster"]
    return result


def cluster_history(since: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = read("ClusterHistory", {"since": since})["clusterHistory"]
    return result


def cluster_usage(since: str, period: str, by: str) -> list[dict[str, Any]]:
    variables = {"since": since, "period": period, "by": by}
    result: list[dict[str, Any]] = read("ClusterUsage", variables)["clusterUsage"]
    return result


def cluster_jobs() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = _post(hub_url(), _token(), "ClusterJobs", {})["clusterJobs"]
    return result


def gpu_holders() -> dict[str, Any]:
    """The actors and tasks holding GPUs now, asked of the cluster (never cached)."""
    return _change("GpuHolders", "gpuHolders", {})


def submit_job(project: str, entrypoint: str, gpus: float, cpus: float) -> dict[str, Any]:
    variables = {"project": project, "entrypoint": entrypoint, "gpus": gpus, "cpus": cpus}
    made = _change("SubmitJob", "submitJob", variables)
    st.cache_data.clear()
    return made


def stop_job(job_id: str) -> None:
    _change("StopJob", "stopJob", {"id": job_id})
    st.cache_data.clear()


def bookings() -> list[dict[str, Any]]:
    """The next two weeks' GPU bookings (never cached: a new booking must show at once)."""
    result: list[dict[str, Any]] = _post(hub_url(), _token(), "Bookings", {})["gpuBookings"]
    return result


def fair_share(by: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = read("FairShare", {"by": by})["fairShare"]
    return result


def book_gpus(
    project: str, gpus: float, start: str, end: str, time_zone: str, note: str
) -> dict[str, Any]:
    variables = {
        "project": project,
        "gpus": gpus,
        "start": start,
        "end": end,
        "timeZone": time_zone,
        "note": note,
    }
    return _change("BookGpus", "bookGpus", variables)


def release_booking(booking_id: str) -> None:
    _change("ReleaseBooking", "releaseBooking", {"id": booking_id})


def run_jobs(run_id: str) -> list[dict[str, Any]]:
    """The cluster jobs submitted for a run."""
    result: list[dict[str, Any]] = read("RunJobs", {"runId": run_id})["clusterJobs"]
    return result


def job_logs(job_id: str) -> str:
    found: dict[str, Any] = _post(hub_url(), _token(), "JobLogs", {"id": job_id})["jobLogs"]
    if found["__typename"] != "JobLogs":
        raise HubError(found["message"])
    text: str = found["text"]
    return text
