"""Probes that tell the truth while `load()` runs, for REST and gRPC, on either HTTP server.

State, per process (each REST worker and each gRPC process loads the class itself):
- `is_loaded()`: the class's `load()` has returned in this process. This is the one thing other
  routes (the Open Inference Protocol's ready endpoints) need to ask.
- `draining()`: the container got SIGTERM and is draining (one byte shared by every process).

REST: `ProbeLayer` wraps the wrapper's Flask app (as WSGI, so any server can run it) and answers, before
the app sees anything:
- liveness, `/health/live` and `/v2/health/live`: 200 as soon as the worker serves, even while loading;
- readiness, `/health/ping`, `/v2/health/ready`, `/v2/models/<class>/ready`: 503 at once until loaded
  and while draining, else the app's own answer (`/health/ping` is the wrapper's "pong");
- anything else while loading: 503 with the wrapper's JSON status body, at once (never a hang).
Once loaded and not draining, a request costs one set lookup and one flag test on top of the app.

gRPC: `run_grpc_server` replaces the wrapper's `_run_grpc_server`: the same server, plus the standard
`grpc.health.v1.Health` service, listening before `load()` so health answers NOT_SERVING at once, and
the Seldon services answering UNAVAILABLE until loaded.

A `load()` that raises: the first process to fail logs the traceback (once, whatever the number of
workers: it creates a marker file, and the others find it there), then tells the main process
(SIGUSR1), which stops everything and exits non-zero.

This file runs in the application interpreter and imports nothing from the builder's tools.
"""

from __future__ import annotations

import atexit
import json
import logging
import mmap
import os
import shutil
import signal
import tempfile
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import seldon_s2i_settings as settings

logger = logging.getLogger(__name__)

LIVE_PATHS = frozenset({"/health/live", "/v2/health/live"})
READY_PATHS = frozenset({"/health/ping", "/v2/health/ready"})
FAILED = "load-failed"
LOADING = {
    "status": {
        "status": 1,
        "info": "The model is loading: try again once /health/ping answers 200",
        "code": 503,
        "reason": "MICROSERVICE_NOT_READY",
    }
}

# One byte shared by every process forked after this import: 1 while draining.
_draining = mmap.mmap(-1, 1)
# Another: 1 once every REST worker and every gRPC process has loaded. granian's workers accept
# requests while they load, and each gRPC process loads on its own, so a pod is ready only when none of
# them would still answer "loading"; it stays 1 while workers are recycled (each replacement loads
# before its predecessor stops).
_all_loaded = mmap.mmap(-1, 1)
# How many of each must load: the serving shim's main() sets them before anything forks.
rest_workers = 1
grpc_workers = 0
_loaded = False
_retiring = False  # this worker is being replaced: its answers close their connections
# Set by the serving shim's main() before anything forks.
state_dir: Path = Path(tempfile.gettempdir())
main_pid: int | None = None  # the process to tell when load() fails; None: nobody (gunicorn)


def setup(report_to: int | None) -> Path:
    """A directory for this container's markers; `report_to`: the pid that stops the container."""
    global state_dir, main_pid
    state_dir = Path(tempfile.mkdtemp(prefix="seldon-s2i-"))
    main_pid = report_to
    creator = os.getpid()

    def remove() -> None:
        if os.getpid() == creator:  # forked workers may run atexit handlers too
            shutil.rmtree(state_dir, ignore_errors=True)

    atexit.register(remove)
    return state_dir


def v2_model_name(interface_name: str) -> str:
    """The name `/v2/models/<name>/ready` answers for: the V2 model's (seldon_s2i_v2.component_name;
    the outlier adapter serves the class SELDON_S2I_COMPONENT names)."""
    from seldon_s2i_v2 import component_name

    return str(component_name(os.environ.get(settings.COMPONENT) or interface_name))


def is_loaded() -> bool:
    """True once the class's load() has returned in this process."""
    return _loaded


def draining() -> bool:
    return _draining[0] == 1


def start_draining() -> None:
    _draining[0] = 1


def retire(*args: Any) -> None:
    """SIGUSR2 in a granian worker about to be replaced: keep-alive clients move on, at an answer."""
    global _retiring
    _retiring = True


def loaded_marker(pid: int, rest: bool = True) -> Path:
    """The file a process writes once it has loaded: a REST worker's, or a gRPC process's."""
    return state_dir / f"{'rest' if rest else 'grpc'}-loaded-{pid}"


def mark_loaded(rest: bool = False) -> None:
    """This process has loaded the class; `rest`: it is a REST worker, else a gRPC process."""
    global _loaded
    _loaded = True
    loaded_marker(os.getpid(), rest).touch()
    # each process counts after its own marker is written, so the last one to load sees them all
    if _count("rest") >= rest_workers and _count("grpc") >= grpc_workers:
        _all_loaded[0] = 1


def _count(kind: str) -> int:
    # a prefix, not Path.glob, whose pattern machinery each worker built after the fork (docs/serving.md)
    return sum(1 for name in os.listdir(state_dir) if name.startswith(f"{kind}-loaded-"))


def ready() -> bool:
    """What readiness answers: loaded here, in every REST worker and every gRPC process, and not
    draining."""
    return _loaded and _all_loaded[0] == 1 and not draining()


def load(user_object: Any) -> None:
    """The wrapper's call: a class without load() (or one raising NotImplementedError) is fine."""
    try:
        user_object.load()
    except (NotImplementedError, AttributeError):
        pass


def load_or_stop(user_object: Any, rest: bool = False) -> None:
    """load(), then ready; or, when it raises, the cause logged once and the container stopped."""
    try:
        load(user_object)
    except Exception:  # noqa: BLE001  (whatever load() raises stops the container, told once)
        report_failure(traceback.format_exc())
        os._exit(settings.EXIT_LOAD_FAILED)
    mark_loaded(rest)


def report_failure(text: str) -> None:
    try:
        fd = os.open(state_dir / FAILED, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # another process has logged it
        pass
    else:
        with os.fdopen(fd, "w") as marker:
            marker.write(text)
        logger.error("The model's load() raised, so this container stops:\n%s", text.rstrip())
    if main_pid is not None:
        os.kill(main_pid, signal.SIGUSR1)


def load_failed() -> bool:
    return (state_dir / FAILED).exists()


StartResponse = Callable[..., Any]


def _answer(start_response: StartResponse, status: str, body: bytes, kind: str) -> Iterable[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


_LOADING_BODY = json.dumps(LOADING).encode() + b"\n"


class ProbeLayer:
    """The WSGI app handed to the HTTP server: the wrapper's app behind truthful probes."""

    def __init__(
        self,
        app: Any,
        model_name: str,
        on_request: Callable[[], None] | None = None,
        close_when_leaving: bool = False,
    ) -> None:
        self.app = app
        # Keep-alive connections (granian keeps them; gunicorn's sync worker does not): while this
        # worker drains or is being replaced, each answer says `Connection: close`, so a client
        # learns of the close with an answer instead of finding its next request's connection gone.
        self.close_when_leaving = close_when_leaving
        self.ready_model = f"/v2/models/{model_name}/ready"
        self.own = LIVE_PATHS | {"/v2/health/ready", self.ready_model}
        self.on_request = on_request  # counts requests for worker recycling

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in self.own:
            if path in LIVE_PATHS:
                return _answer(start_response, "200 OK", b"alive", "text/plain")
            if ready():
                return _answer(start_response, "200 OK", b"ready", "text/plain")
            return _answer(start_response, "503 Service Unavailable", b"not ready", "text/plain")
        if not _loaded:
            if path in READY_PATHS or path.startswith("/v2/"):
                return _answer(start_response, "503 Service Unavailable", b"loading", "text/plain")
            return _answer(start_response, "503 Service Unavailable", _LOADING_BODY, "application/json")
        if path == "/health/ping" and not ready():
            return _answer(
                start_response,
                "503 Service Unavailable",
                b"draining" if draining() else b"loading",
                "text/plain",
            )
        if self.on_request is not None:
            self.on_request()
        if self.close_when_leaving and (_retiring or _draining[0] == 1):
            return self.app(environ, _closing(start_response))  # type: ignore[no-any-return]
        return self.app(environ, start_response)  # type: ignore[no-any-return]


def _closing(start_response: StartResponse) -> StartResponse:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return start_response(status, [*headers, ("Connection", "close")], exc_info)

    return start


def _loading_servicer(stock_servicer: Any) -> Any:
    """The wrapper's Seldon servicer, each of its methods answering UNAVAILABLE until loaded."""
    import grpc

    class LoadingServicer(stock_servicer):  # type: ignore[misc]
        """Each Seldon method answers UNAVAILABLE until the class has loaded."""

    def gated(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, request: Any, context: Any) -> Any:
            if not _loaded:
                context.abort(grpc.StatusCode.UNAVAILABLE, LOADING["status"]["info"])
            return method(self, request, context)

        return call

    for name in dir(stock_servicer):
        if name[:1].isupper() and callable(getattr(stock_servicer, name)):
            setattr(LoadingServicer, name, gated(getattr(stock_servicer, name)))
    return LoadingServicer


def _trace_interceptor(args: Any) -> Any:
    """The wrapper's OpenTracing interceptor when --tracing is on, else None."""
    if not args.tracing:
        return None
    from grpc_opentracing import open_tracing_server_interceptor
    from seldon_core.utils import setup_tracing

    return open_tracing_server_interceptor(setup_tracing(args.interface_name))


def run_grpc_server(
    user_object: Any, seldon_metrics: Any, args: Any, annotations: dict[str, str], bind_address: str
) -> None:
    """The wrapper's `_run_grpc_server`, serving health before load(); `_wait_forever` ends it."""
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    from seldon_core import microservice, wrapper

    stock_servicer = wrapper.SeldonModelGRPC
    interceptor = _trace_interceptor(args)
    wrapper.SeldonModelGRPC = _loading_servicer(stock_servicer)
    try:
        server = wrapper.get_grpc_server(
            user_object,
            seldon_metrics,
            annotations=annotations,
            trace_interceptor=interceptor,
            num_threads=args.grpc_threads,
        )
    finally:
        wrapper.SeldonModelGRPC = stock_servicer
    status = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(status, server)
    status.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    server.add_insecure_port(bind_address)
    server.start()
    logger.info("gRPC server %d: serving health, loading the model", os.getpid())
    load_or_stop(user_object)
    status.set("", health_pb2.HealthCheckResponse.SERVING)
    microservice._wait_forever(server)
