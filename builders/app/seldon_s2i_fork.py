"""Before the servers fork: the main process loads once, and its forks share what it loaded.

A forked process shares its parent's memory page by page until one of them writes to a page; then
that page is copied, and it is the child's own (its unshared memory, USS: what one more worker
costs). This module keeps the writes after the fork few (docs/serving.md, Memory):

- `collect_rarely_until_the_fork`: while the wrapper and the class load, the cyclic garbage collector
  runs rarely (CPython's advice for a server that forks: few collections before the fork, gc.freeze()
  at it); `freeze_what_is_loaded`, when the servers start, restores Python's setting.
- `prepare_rest_workers`: what a REST worker would build on its first request, the REST master builds
  before its workers fork.
- `prepare_grpc_workers`: the modules each gRPC process imports to build its server, the process
  that forks them imports first.

This file runs in the application interpreter and imports nothing from the builder's tools.
"""

from __future__ import annotations

import gc
import importlib
import io
import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)

# Until the servers fork, the collector waits for a million new objects instead of Python's 700 or
# 2,000. The imports (the wrapper's, the class's) and the class's constructor create objects that live
# as long as the server, and scanning them again and again is a part of every start. A bound, not
# gc.disable(): a constructor that makes cyclic garbage in a loop still has it collected, before
# freeze_what_is_loaded freezes what is left.
STARTUP_GC_THRESHOLD = 1_000_000
_USUAL_GC_THRESHOLD = gc.get_threshold()


def collect_rarely_until_the_fork() -> None:
    gc.set_threshold(STARTUP_GC_THRESHOLD, *_USUAL_GC_THRESHOLD[1:])


def freeze_what_is_loaded() -> None:
    """What is loaded so far is shared with every forked process; a full garbage collection in a child
    would write to each of those objects and copy every page (in a soak test, a sudden jump in every
    worker's memory). Frozen objects are never scanned, so the pages stay shared. From here on the
    collector runs as often as Python's default has it, in this process and in the forks."""
    gc.freeze()
    gc.set_threshold(*_USUAL_GC_THRESHOLD)


# A readiness probe, as a server hands it to the app.
_PROBE = {
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/health/ping",
    "SCRIPT_NAME": "",
    "QUERY_STRING": "",
    "SERVER_NAME": "localhost",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
}


def traced(application: Any) -> bool:
    """Whether each REST worker adds the wrapper's tracer to the app (the REST server's application
    object: the wrapper's UserModelApplication or seldon_s2i_granian's, with the same attributes). The
    wrapper's own condition, from gunicorn_utils.UserModelApplication.load."""
    return bool(application.tracing) and application.jaeger_extra_tags is not None


def prepare_rest_workers(app: Any, answer_a_request: bool) -> None:
    """Called by the REST master just before its workers fork. What a request builds the first time a
    process serves one would otherwise be built in every worker, unshared:
    - werkzeug's host check encodes each request's host with the idna codec, whose first use imports
      `encodings.idna` and its stringprep tables: about 1 MiB per worker;
    - the rest is first-use state along the request's path (Flask's URL matcher, the interpreter's
      specialised bytecode): about 0.4 MiB more.
    The codec is looked up here. With `answer_a_request`, the master also answers one readiness probe
    itself (the wrapper's "pong": the class is not called). Not when tracing is on: each worker adds
    its tracer to the app, which Flask allows only before the app's first request."""
    "localhost".encode("idna")
    if answer_a_request:
        try:
            _answer_probe(app)
        except Exception as exc:  # noqa: BLE001  (a saving, not a condition: the workers serve as before)
            logger.warning("The probe answered before the fork failed (%r): each worker builds its own", exc)
    gc.collect()  # that request's own garbage, which a frozen heap would keep for good
    gc.freeze()  # the app and what the request built, created after freeze_what_is_loaded


def _answer_probe(app: Any) -> None:
    body = app({**_PROBE, "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr}, _ignore_status)
    try:
        b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()


def _ignore_status(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    pass


# What each gRPC process imports to build its server: grpc's server module and the health service
# (seldon_s2i_probes.run_grpc_server); seldon_s2i_serve adds the V2 servicer when V2 is served.
GRPC_SERVER_MODULES = ["grpc._server", "grpc_health.v1.health"]


def prepare_grpc_workers() -> None:
    """Called in the process that forks the gRPC processes (not the REST master: it runs beside it),
    before it forks them: about 2.5 MiB less unshared memory in each (docs/serving.md)."""
    for name in GRPC_SERVER_MODULES:
        importlib.import_module(name)
    gc.freeze()
