"""The serving shim's garbage collection around the fork (builders/app/seldon_s2i_graceful.py), in a
fresh interpreter: the collector's settings are the process's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from builders.run import APP_DIR

SERVE = """
import gc, json
import seldon_s2i_graceful as graceful
usual = gc.get_threshold()
graceful.collect_rarely_until_the_fork()
starting = gc.get_threshold()
before = gc.get_stats()[0]["collections"]
for _ in range(100_000):  # cyclic garbage, made the way a careless constructor might
    cycle = []
    cycle.append(cycle)
seen = []
graceful.start_servers(lambda: seen.append([gc.get_threshold(), gc.get_freeze_count()]), None, None, None)
print(json.dumps([usual, starting, gc.get_stats()[0]["collections"] - before, *seen]))
"""


def test_few_collections_until_the_servers_fork_then_the_usual() -> None:
    env = {**os.environ, "PYTHONPATH": str(APP_DIR)}
    result = subprocess.run(
        [sys.executable, "-c", SERVE], env=env, check=True, capture_output=True, text=True
    )
    usual, starting, collections, (serving, frozen) = json.loads(result.stdout)
    assert starting == [1_000_000, *usual[1:]]
    assert collections == 0  # 100,000 new objects: no collection before the fork
    assert serving == usual  # the servers run with Python's own setting
    assert frozen > 10_000  # what was loaded is frozen, shared with the forks
