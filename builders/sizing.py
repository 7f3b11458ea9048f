"""Serving defaults sized from what the container actually has (cgroup limits, not the host's).

The wrapper's stock defaults are one gunicorn worker with one thread and one gRPC worker, whatever the
pod's size. One sync worker per CPU serves more requests at a lower p99 than the stock default, while
extra threads per REST worker only add GIL contention; so: one REST worker per CPU, one thread each,
capped by memory. gRPC: one process per CPU with two threads, within the memory left by the REST
workers (each gRPC process loads another copy of the model), at least one. BENCHMARKS.md has the
measurements behind both choices (the sizing rows, and GRPC_WORKERS/GRPC_THREADS against one and one).
Workers are recycled after MAX_REQUESTS so a slow leak in user code cannot grow without bound; a
replacement loads before the old worker stops (builders/app/seldon_s2i_graceful.py), so recycling
costs an extra process while it loads, now and then at full load, and nothing when idle. Every value
is only a default: GUNICORN_WORKERS and the other wrapper variables, when set, win.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
MEMORY_PER_WORKER = 512 * 1024 * 1024  # a conservative allowance for a model plus the wrapper
MAX_REQUESTS = 100_000
MAX_REQUESTS_JITTER = 10_000


@dataclass(frozen=True)
class Resources:
    cpus: float
    memory: int | None  # bytes, None when unlimited


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def detect(cgroup: Path = CGROUP, affinity: int | None = None) -> Resources:
    """CPU quota and memory limit of this container, for cgroup v2 and v1."""
    cpus = float(affinity if affinity is not None else len(os.sched_getaffinity(0)))
    quota, period = None, None
    v2 = _read(cgroup / "cpu.max")
    if v2:
        raw_quota, _, raw_period = v2.partition(" ")
        if raw_quota != "max":
            quota, period = int(raw_quota), int(raw_period or "100000")
    else:
        v1_quota = _read(cgroup / "cpu" / "cpu.cfs_quota_us")
        v1_period = _read(cgroup / "cpu" / "cpu.cfs_period_us")
        if v1_quota and v1_period and int(v1_quota) > 0:
            quota, period = int(v1_quota), int(v1_period)
    if quota and period:
        cpus = min(cpus, quota / period)
    memory = None
    for candidate in (cgroup / "memory.max", cgroup / "memory" / "memory.limit_in_bytes"):
        raw = _read(candidate)
        if raw and raw != "max" and int(raw) < 2**60:  # v1 reports "unlimited" as a huge number
            memory = int(raw)
            break
    return Resources(cpus=max(cpus, 0.1), memory=memory)


def defaults(resources: Resources) -> dict[str, str]:
    workers = max(1, math.ceil(resources.cpus - 0.25))  # 1.2 CPUs: one worker; 1.5: two
    if resources.memory is not None:
        workers = max(1, min(workers, resources.memory // MEMORY_PER_WORKER))
    grpc_workers = max(1, math.ceil(resources.cpus - 0.25))
    if resources.memory is not None:
        grpc_workers = max(1, min(grpc_workers, resources.memory // MEMORY_PER_WORKER - workers))
    return {
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": "1",
        "GRPC_WORKERS": str(grpc_workers),
        "GRPC_THREADS": "2",
        "GUNICORN_MAX_REQUESTS": str(MAX_REQUESTS),
        "GUNICORN_MAX_REQUESTS_JITTER": str(MAX_REQUESTS_JITTER),
    }


def apply(environ: Mapping[str, str], resources: Resources) -> tuple[dict[str, str], dict[str, str]]:
    """The environment with defaults filled in, and which defaults were used."""
    chosen = {k: v for k, v in defaults(resources).items() if not environ.get(k, "").strip()}
    return {**environ, **chosen}, chosen
