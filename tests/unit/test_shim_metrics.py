"""The serving shim's metrics against the wrapper's own SeldonMetrics, in this interpreter.

Both classes get the same updates; their /metrics text must be the same, family for family. The Docker
test (tests/docker/test_serving.py) does the same through real servers and real requests.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from seldon_core.metrics import BINS, SeldonMetrics

from builders.run import APP_DIR

sys.path.insert(0, str(APP_DIR))
from seldon_s2i_metrics import MmapSeldonMetrics, timer_bucket

UPDATES: list[tuple[int, list[dict[str, Any]], str]] = [
    (101, [{"type": "COUNTER", "key": "requests", "value": 1}], "predict"),
    (101, [{"type": "COUNTER", "key": "requests", "value": 2.5}], "predict"),
    (102, [{"type": "COUNTER", "key": "requests", "value": 1}], "predict"),
    (101, [{"type": "GAUGE", "key": "load", "value": 3, "tags": {"zone": "a"}}], "predict"),
    (101, [{"type": "GAUGE", "key": "load", "value": 7, "tags": {"zone": "a"}}], "predict"),
    (101, [{"type": "GAUGE", "key": "load", "value": 1, "tags": {"zone": "b"}}], "route"),
    # TIMERs in ms: bucket edges, below the first, above the last, negative, 0 and NaN
    *[
        (102, [{"type": "TIMER", "key": "latency", "value": ms}], "predict")
        for ms in (1, 0.5, 2, 250, 1000, 30000, 45000, -3, 0, float("nan"))
    ],
    (101, [{"type": "TIMER", "key": "latency", "value": 12, "tags": {"model": "x"}}], "inputtransform"),
    (102, [], "predict"),
]


def exposition(metrics: SeldonMetrics) -> list[str]:
    """The metric families as text, one block per family, in a stable order."""
    text, _ = metrics.generate_metrics()
    blocks = [block for block in text.split("# HELP ") if block]
    return sorted(blocks)


def apply(metrics: SeldonMetrics, updates: list[tuple[int, list[dict[str, Any]], str]]) -> None:
    for worker, batch, method in updates:
        metrics.worker_id_func = lambda worker=worker: worker
        metrics.update([dict(m, tags=dict(m.get("tags", {}))) for m in batch], method)


@pytest.fixture
def both(tmp_path: Path) -> Iterator[tuple[SeldonMetrics, MmapSeldonMetrics]]:
    stock = SeldonMetrics()
    ours = MmapSeldonMetrics(directory=str(tmp_path))
    yield stock, ours
    stock._manager.shutdown()


def test_same_exposition_as_the_wrapper(both: tuple[SeldonMetrics, MmapSeldonMetrics]) -> None:
    stock, ours = both
    apply(stock, UPDATES)
    apply(ours, UPDATES)
    stock.update_reward(0.5)
    ours.update_reward(0.5)
    expected = exposition(stock)
    assert len(expected) == 8  # counters of 2 workers, 2 gauges, 2 timers, 2 feedback counters
    assert exposition(ours) == expected


def test_bad_tag_fails_the_whole_update_as_in_the_wrapper(
    both: tuple[SeldonMetrics, MmapSeldonMetrics],
) -> None:
    stock, ours = both
    batch = [
        {"type": "COUNTER", "key": "ok", "value": 1},
        {"type": "COUNTER", "key": "bad", "value": 1, "tags": {"n": 1}},
    ]
    for metrics in both:
        with pytest.raises(TypeError):
            metrics.update([dict(m) for m in batch], "predict")
    assert exposition(ours) == exposition(stock) == []


def test_clear_removes_this_process_series(tmp_path: Path) -> None:
    ours = MmapSeldonMetrics(directory=str(tmp_path))
    ours.update([{"type": "GAUGE", "key": "load", "value": 3}], "predict")
    assert len(exposition(ours)) == 1 and list(tmp_path.glob("*.db"))
    ours.clear()
    assert exposition(ours) == [] and not list(tmp_path.glob("*.db"))


@pytest.mark.parametrize(
    "seconds", [*[float(b) for b in BINS[:-1]], 0.0015, 29.9, 31.0, -1.0, math.nan, math.inf]
)
def test_timer_bucket_is_numpy_histogram(seconds: float) -> None:
    counts = np.histogram([seconds], BINS)[0]
    expected = int(np.argmax(counts)) if counts.sum() else None
    assert timer_bucket(seconds) == expected
