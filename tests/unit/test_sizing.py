"""Serving defaults from cgroup limits (v1 and v2 layouts written into a temporary folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import sizing
from builders.sizing import Resources


def cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text + "\n")
    return tmp_path


@pytest.mark.parametrize(
    ("files", "affinity", "expected"),
    [
        ({}, 8, Resources(8, None)),
        ({"cpu.max": "max 100000", "memory.max": "max"}, 4, Resources(4, None)),
        ({"cpu.max": "150000 100000", "memory.max": "1073741824"}, 8, Resources(1.5, 2**30)),
        ({"cpu.max": "800000 100000"}, 2, Resources(2, None)),  # the quota cannot add CPUs
        ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000",
          "memory/memory.limit_in_bytes": "9223372036854771712"}, 2, Resources(2, None)),
        ({"cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000",
          "memory/memory.limit_in_bytes": "536870912"}, 2, Resources(0.5, 2**29)),
    ],
)  # fmt: skip
def test_detect(tmp_path: Path, files: dict[str, str], affinity: int, expected: Resources) -> None:
    assert sizing.detect(cgroup(tmp_path, files), affinity=affinity) == expected


@pytest.mark.parametrize(
    ("resources", "workers", "grpc_workers"),
    [
        (Resources(0.5, None), "1", "1"),
        (Resources(1.2, None), "1", "1"),
        (Resources(1.5, None), "2", "2"),
        (Resources(4, None), "4", "4"),
        (Resources(4, 2**30), "2", "1"),  # 1 GiB allows two 512 MiB REST workers; gRPC keeps one
        (Resources(4, 2**31), "4", "1"),
        (Resources(4, 3 * 2**30), "4", "2"),
        (Resources(4, 2**28), "1", "1"),
    ],
)
def test_defaults(resources: Resources, workers: str, grpc_workers: str) -> None:
    assert sizing.defaults(resources) == {
        "GUNICORN_WORKERS": workers,
        "GUNICORN_THREADS": "1",
        "GRPC_WORKERS": grpc_workers,
        "GRPC_THREADS": "2",
        "GUNICORN_MAX_REQUESTS": "100000",
        "GUNICORN_MAX_REQUESTS_JITTER": "10000",
    }


def test_user_values_win() -> None:
    env, chosen = sizing.apply({"GUNICORN_WORKERS": "7", "GUNICORN_THREADS": " "}, Resources(2, None))
    assert env["GUNICORN_WORKERS"] == "7"
    assert env["GUNICORN_THREADS"] == "1"
    assert "GUNICORN_WORKERS" not in chosen and chosen["GUNICORN_THREADS"] == "1"
