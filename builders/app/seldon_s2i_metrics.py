"""The wrapper's custom metrics, kept in one memory-mapped file per process instead of a Manager.

seldon-core 1.18's `SeldonMetrics` keeps every worker's metrics in a `multiprocessing.Manager` dict:
each request makes two lock round trips to that server process plus a get and a set of the worker's
whole dict (a large share of a REST worker's time in a py-spy profile), every worker queues behind the
one Manager process, and when it dies first on SIGTERM every request still running fails.

`MmapSeldonMetrics` keeps the same data per process in a file under a directory in /tmp, written with
prometheus_client's `MmapedDict` (the storage of its multiprocess mode): an update is a few writes into
this process's own mapped memory, under an in-process lock, and nothing at all for a request without
metrics. The metrics server reads every process's file when scraped, so a value is visible as soon
as the request that wrote it has answered. The exposition is built by the stock class's own code
(`_merge_labels`, `_expose_*`, `generate_metrics`), from the same data (per worker: the key, its
tags with `method`, a value, or a TIMER's 51 bucket counts and sum), so names, types, labels, bucket
bounds and values are those of the stock wrapper for the same traffic. `clear()` (the wrapper's
gunicorn `worker_exit` hook) deletes the dying worker's file, as the stock one deletes its entry.

This file runs in the application interpreter and imports nothing from the builder's tools.
"""

from __future__ import annotations

import bisect
import inspect
import json
import logging
import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import mmap_dict
from seldon_core import metrics as stock

MmapedDict: Any = mmap_dict.MmapedDict  # the storage of prometheus_client's multiprocess mode (untyped)

logger = logging.getLogger(__name__)

# prometheus_client 0.12 added a timestamp to every value; older releases store the value alone.
_WRITE_EXTRA: tuple[float, ...] = (
    (0.0,) if "timestamp" in inspect.signature(MmapedDict.write_value).parameters else ()
)
_EDGES = [float(edge) for edge in stock.BINS]  # 0, 50 log-spaced bounds from 1 ms to 30 s, +Inf
_BUCKETS = len(_EDGES) - 1
_SUM = "sum"
_VALUE = "value"


def timer_bucket(seconds: float) -> int | None:
    """The bucket `numpy.histogram([seconds], BINS)` counts the value in, or None when it counts none:
    each bucket holds [lower, upper), the last one [lower, +Inf]; negative and NaN values fall outside."""
    if not 0.0 <= seconds <= math.inf:
        return None
    return min(bisect.bisect_right(_EDGES, seconds) - 1, _BUCKETS - 1)


class MmapSeldonMetrics(stock.SeldonMetrics):  # type: ignore[misc]
    """`SeldonMetrics` with per-process memory-mapped storage; same methods, same exposition."""

    def __init__(
        self,
        worker_id_func: Callable[[], Any] = os.getpid,
        extra_default_labels: dict[str, str] | None = None,
        directory: str | None = None,
    ) -> None:
        # No super().__init__(): it would start the Manager process this class replaces.
        self.worker_id_func = worker_id_func
        self._extra_default_labels = extra_default_labels or {}
        self.directory = Path(directory or tempfile.mkdtemp(prefix="seldon-metrics-"))
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._file: Any = None  # this process's MmapedDict, opened on its first update
        self._values: dict[str, float] = {}
        self._labels: dict[tuple[Any, ...], list[list[str]]] = {}
        self._keys: dict[tuple[Any, ...], str] = {}

    def __del__(self) -> None:
        pass  # no Manager to shut down

    def update(self, custom_metrics: list[dict[str, Any]], method: str) -> None:
        if not custom_metrics:
            return  # the usual request: nothing to record, nothing to lock
        worker = self.worker_id_func()
        changes = []
        # Checked in full before anything is written, as the stock class builds the worker's new data
        # before storing it: a bad tag fails the request and records none of its metrics.
        for metric in custom_metrics:
            metric_type = metric.get("type", "COUNTER")
            tags = metric.get("tags", {})
            tags["method"] = method  # the stock class adds it to the caller's dict too
            series = (str(worker), metric_type, metric["key"], self._generate_tags_key(tags))
            if metric_type not in (stock.COUNTER, stock.GAUGE, stock.TIMER):
                logger.error(f"Unknown metrics type: {metric_type}")
                continue
            changes.append((series, list(tags.items()), metric["value"]))
        with self._lock:
            self._open()
            for series, labels, value in changes:
                self._record(series, labels, value)

    def _open(self) -> None:
        if self._pid == os.getpid():
            return
        # First write in this process (gunicorn workers and gRPC processes are forked after __init__).
        self._pid = os.getpid()
        self._values, self._labels, self._keys = {}, {}, {}
        self._file = MmapedDict(str(self.directory / f"{self._pid}.db"))

    def _record(self, series: tuple[Any, ...], labels: list[list[str]], value: Any) -> None:
        metric_type = series[1]
        if metric_type == stock.COUNTER:
            self._add(series, labels, _VALUE, value)
        elif metric_type == stock.GAUGE:
            self._write(self._key(series, labels, _VALUE), value)
        else:  # TIMER, in milliseconds, kept in seconds as the stock class does
            seconds = value / 1000
            bucket = timer_bucket(seconds)
            if bucket is not None:
                self._add(series, labels, str(bucket), 1)
            self._add(series, labels, _SUM, seconds)

    def _key(self, series: tuple[Any, ...], labels: list[list[str]], field: str) -> str:
        """The file's key for one value of a series; its labels in the order first seen."""
        key = self._keys.get((series, field))
        if key is None:
            labels = self._labels.setdefault(series, labels)
            key = self._keys[series, field] = json.dumps([*series, labels, field])
        return key

    def _add(self, series: tuple[Any, ...], labels: list[list[str]], field: str, value: float) -> None:
        key = self._key(series, labels, field)
        self._write(key, self._values.get(key, 0) + value)

    def _write(self, key: str, value: float) -> None:
        self._values[key] = value
        self._file.write_value(key, float(value), *_WRITE_EXTRA)

    def _read(self) -> dict[tuple[Any, ...], dict[str, Any]]:
        """Every process's series: (worker, type, key, tags key) -> its tags and fields."""
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        for path in sorted(self.directory.glob("*.db")):
            try:
                entries = list(MmapedDict.read_all_values_from_file(str(path)))
            except (FileNotFoundError, ValueError):  # a worker that just exited
                continue
            for key, value, *_ in entries:
                *series, labels, field = json.loads(key)
                item = found.setdefault(tuple(series), {"tags": dict(labels), "fields": {}})
                item["fields"][field] = value
        return found

    def collect(self) -> Iterator[Any]:
        for (worker, metric_type, name, _), item in self._read().items():
            labels_keys, labels_values = self._merge_labels(worker, item["tags"])
            fields = item["fields"]
            if metric_type == stock.GAUGE:
                yield self._expose_gauge(name, fields[_VALUE], labels_keys, labels_values)
            elif metric_type == stock.COUNTER:
                yield self._expose_counter(name, fields[_VALUE], labels_keys, labels_values)
            elif metric_type == stock.TIMER:
                counts = [fields.get(str(bucket), 0.0) for bucket in range(_BUCKETS)]
                value = (counts, fields.get(_SUM, 0.0))
                yield self._expose_histogram(name, value, labels_keys, labels_values)

    def clear(self) -> None:
        """This process's series are gone (a gunicorn worker exiting), as in the stock class."""
        with self._lock:
            if self._pid != os.getpid():
                return
            self._file.close()
            (self.directory / f"{self._pid}.db").unlink(missing_ok=True)
            self._pid, self._file, self._values, self._labels, self._keys = None, None, {}, {}, {}
