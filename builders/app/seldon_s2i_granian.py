"""The REST server on granian (a Rust HTTP server with a WSGI interface), in place of gunicorn.

`GranianApplication` takes the place of the wrapper's gunicorn `UserModelApplication`: same
constructor, same options (the wrapper builds them from GUNICORN_WORKERS, GUNICORN_THREADS,
GUNICORN_MAX_REQUESTS(_JITTER), GUNICORN_KEEPALIVE, GUNICORN_ACCESS_LOG, SELDON_LOG_LEVEL), and
`run()` serves the wrapper's Flask app, as WSGI, behind `seldon_s2i_probes.ProbeLayer`.

granian's master forks its workers (the model object built once, shared copy-on-write, as with
gunicorn) and each worker listens on its own SO_REUSEPORT socket. `SeldonGranian` adds what the image
needs on top of granian's own master loop:
- The first workers serve at once and load the model in a thread: liveness answers while load()
  runs, readiness and predictions answer 503 until it has returned (seldon_s2i_probes).
- A worker started later (a replacement) loads before it listens, so the kernel gives it no
  connection until it can answer.
- SIGTERM: drain (SELDON_S2I_DRAIN_SECONDS: /health/ping answers 503, everything still serves), then
  stop gRPC and the workers together, each finishing the requests it has accepted, within
  SELDON_S2I_GRACE_SECONDS; exit 0.
- Recycling at GUNICORN_MAX_REQUESTS (+ up to _JITTER): the worker asks for a replacement and serves
  on until the replacement has loaded and listens; only then is it stopped. No capacity is lost.
- A worker that dies is replaced (as gunicorn does); a load() that raises stops the container, exit 1.

This file runs in the application interpreter and imports nothing from the builder's tools.
"""

from __future__ import annotations

import logging
import math
import os
import random
import signal
import sys
import threading
import time
from typing import Any

import seldon_s2i_fork as fork
import seldon_s2i_graceful as graceful
import seldon_s2i_probes as probes
import seldon_s2i_settings as settings
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.mp import MPServer

logger = logging.getLogger(__name__)
RETIRE_SECONDS = 1.0  # a replaced worker's answers close their connections this long before it stops
BIND_SECONDS = 0.5  # from a replacement's loaded marker to its socket listening (a few ms), with margin
CRASH_LOOP_SECONDS = 5.5  # granian's own: a worker dying again this soon after its respawn stops all


class SeldonGranian(MPServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.background_load = True  # read by each worker as forked: the first ones load in a thread
        self.exit_code = 0
        self.lock = threading.RLock()
        self.pending: dict[int, Any] = {}  # old worker's pid -> the replacement loading for it
        self.retiring: list[Any] = []  # replaced workers, until stopped
        self.respawned: dict[int, float] = {}
        self.stopping = False

    def startup(self, spawn_target: Any, target_loader: Any) -> None:
        self.spawn_target, self.target_loader = spawn_target, target_loader
        signal.signal(signal.SIGUSR1, self.on_load_failed)
        signal.signal(signal.SIGUSR2, self.on_recycle_request)
        super().startup(spawn_target, target_loader)
        self.background_load = False

    def on_load_failed(self, *args: Any) -> None:
        self.exit_code = 1
        self.main_loop_interrupt.set()

    def on_recycle_request(self, *args: Any) -> None:
        self.main_loop_interrupt.set()

    def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
        drain = graceful.seconds(settings.DRAIN, settings.DRAIN_DEFAULT)
        if not probes.draining() and drain > 0:
            probes.start_draining()
            logger.info("SIGTERM: draining for %gs (/health/ping answers 503), then stopping", drain)
            timer = threading.Timer(drain, super().signal_handler_interrupt)
            timer.daemon = True
            timer.start()
            return
        probes.start_draining()
        super().signal_handler_interrupt()

    def _serve_loop(self, spawn_target: Any, target_loader: Any) -> None:
        while True:
            self.main_loop_interrupt.wait()
            self.main_loop_interrupt.clear()
            if self.exit_code or probes.load_failed():
                self.exit_code = 1
                return
            if self.interrupt_signal:
                logger.info("Stopping: REST and gRPC finish the requests they accepted")
                return
            if self.interrupt_children and not self.respawn_crashed():
                self.exit_code = 1
                return
            for pid in _take_recycle_requests():
                self.replace(pid)

    def spawn(self, idx: int) -> Any:
        return self._spawn_worker(idx=idx, target=self.spawn_target, callback_loader=self.target_loader)

    def respawn_crashed(self) -> bool:
        """Workers that died on their own are started again; False for a crash loop."""
        with self.lock:
            self.interrupt_children.clear()
            now = time.monotonic()
            for position, worker in enumerate(list(self.wrks)):
                if worker.is_alive() or worker.interrupt_by_parent:
                    continue
                if now - self.respawned.get(worker.idx, -math.inf) <= CRASH_LOOP_SECONDS:
                    logger.error("Worker %d keeps dying: stopping", worker.idx + 1)
                    return False
                self.respawned[worker.idx] = now
                new = self.spawn(worker.idx)
                new.start()
                self.wrks[position] = new
        return True

    def replace(self, old_pid: int) -> None:
        with self.lock:
            old = next((w for w in self.wrks if w._id() == old_pid), None)
            if old is None or old_pid in self.pending or self.stopping or probes.draining():
                return
            new = self.spawn(old.idx)
            new.interrupt_by_parent = True  # its death while loading is ours to handle, not granian's
            new.start()
            self.pending[old_pid] = new
        logger.info("Worker %s reached its max requests: starting %s to replace it", old_pid, new._id())
        threading.Thread(target=self.swap, args=(old, new), daemon=True).start()

    def swap(self, old: Any, new: Any) -> None:
        """Once the replacement has loaded (and so listens), it takes the old worker's place."""
        marker = probes.loaded_marker(new._id())
        while new.is_alive() and not marker.exists() and not self.stopping:
            time.sleep(0.05)
        time.sleep(BIND_SECONDS)  # loaded: it opens its listening socket as soon as load() returns
        with self.lock:
            del self.pending[old._id()]
            if self.stopping or not new.is_alive() or old not in self.wrks:
                new.terminate()
                return
            new.interrupt_by_parent = False
            self.wrks[self.wrks.index(old)] = new
            self.retiring.append(old)
            old.interrupt_by_parent = True
            logger.info("Worker %s serves: stopping worker %s", new._id(), old._id())
            os.kill(old._id(), signal.SIGUSR2)  # probes.retire: its keep-alive clients move on
        marker.unlink(missing_ok=True)
        time.sleep(RETIRE_SECONDS)
        old.terminate()
        old.join(self.workers_kill_timeout)
        if old.is_alive():
            old.kill()
        with self.lock:
            self.retiring.remove(old)

    def shutdown(self, exit_code: int = 0) -> None:
        with self.lock:
            self.stopping = True
            for worker in [*self.pending.values(), *self.retiring]:
                worker.terminate()
        graceful._stop_grpc()
        self.interrupt_children.clear()
        super().shutdown(exit_code or self.exit_code)


# Workers at their max requests leave their pid in a file, then wake the master with SIGUSR2.
def _ask_for_replacement() -> None:
    (probes.state_dir / f"recycle-{os.getpid()}").touch()
    os.kill(os.getppid(), signal.SIGUSR2)


def _take_recycle_requests() -> list[int]:
    pids = []
    for marker in probes.state_dir.glob("recycle-*"):
        pids.append(int(marker.name.partition("-")[2]))
        marker.unlink(missing_ok=True)
    return pids


class Recycler:
    """Counts a worker's requests; at its max, asks for a replacement (again after as many more)."""

    def __init__(self, max_requests: int, jitter: int) -> None:
        self.every = max_requests
        self.after = max_requests + random.randint(0, max(0, jitter)) if max_requests > 0 else sys.maxsize
        self.served = 0

    def __call__(self) -> None:
        self.served += 1
        if self.served >= self.after:
            self.after += self.every
            _ask_for_replacement()


LOG_LEVELS = {"debug": LogLevels.debug, "info": LogLevels.info, "warning": LogLevels.warning}


class GranianApplication:
    """The wrapper's UserModelApplication (same arguments), served by granian."""

    def __init__(
        self,
        app: Any,
        user_object: Any,
        tracing: Any,
        jaeger_extra_tags: Any,
        interface_name: str,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.application = app
        self.user_object = user_object
        self.tracing = tracing
        self.jaeger_extra_tags = jaeger_extra_tags
        self.interface_name = interface_name
        self.options = options or {}

    def run(self) -> None:
        options = self.options
        host, _, port = str(options["bind"]).rpartition(":")
        grace = graceful.seconds(settings.GRACE, settings.GRACE_DEFAULT)
        server = SeldonGranian(
            "seldon-core-microservice",
            address=host,
            port=int(port),
            interface=Interfaces.WSGI,
            workers=int(options.get("workers") or 1),
            blocking_threads=max(1, int(options.get("threads") or 1)),
            http=HTTPModes.http1,
            http1_settings=HTTP1Settings(keep_alive=int(options.get("keepalive") or 0) > 0),
            log_level=LOG_LEVELS.get(str(options.get("loglevel", "info")).lower(), LogLevels.info),
            log_access=bool(options.get("accesslog")),
            workers_kill_timeout=max(1, math.ceil(grace)),
            respawn_failed_workers=True,
        )
        self.server = server
        fork.prepare_rest_workers(self.application, answer_a_request=not fork.traced(self))
        server.serve(spawn_target=self.worker, target_loader=self.worker_app, wrap_loader=False)
        if server.exit_code:
            sys.exit(server.exit_code)

    def worker(self, *args: Any, **kwargs: Any) -> None:
        """granian's WSGI worker; on its way out, its metrics go, as gunicorn's worker_exit hook does."""
        try:
            MPServer._spawn_wsgi_worker(*args, **kwargs)
        finally:
            worker_exit = self.options.get("worker_exit")
            if worker_exit is not None:
                worker_exit(None, None)

    def worker_app(self) -> Any:
        """In each worker, after the fork: the app granian serves."""
        from seldon_core.gunicorn_utils import post_worker_init

        post_worker_init(None)  # the master's multiprocessing atexit hook is not the worker's
        if fork.traced(self):
            from flask_opentracing import FlaskTracing
            from seldon_core.utils import setup_tracing

            tracer = setup_tracing(self.interface_name)
            FlaskTracing(tracer, True, self.application, self.jaeger_extra_tags)
        options = self.options
        recycle = Recycler(
            int(options.get("max_requests") or 0), int(options.get("max_requests_jitter") or 0)
        )
        counted = recycle if recycle.after < sys.maxsize else None
        model_name = probes.v2_model_name(self.interface_name)
        app = probes.ProbeLayer(self.application, model_name, counted, close_when_leaving=True)
        signal.signal(signal.SIGUSR2, probes.retire)
        if self.server.background_load:
            threading.Thread(target=probes.load_or_stop, args=(self.user_object, True), daemon=True).start()
        else:
            probes.load_or_stop(self.user_object, rest=True)
        return app
