"""A stop that loses no request: SIGTERM drains, then REST and gRPC finish what they accepted.

Stock seldon-core 1.18 under `tini -g` gets SIGTERM in every process at once: the gRPC processes die
with their calls, the metrics Manager dies under the REST workers, gunicorn's master closes the
listening socket while connections the kernel already accepted wait in its backlog. The image's tini
now signals only the main process (the REST gunicorn master), and this module makes it stop in order:

1. Drain (SELDON_S2I_DRAIN_SECONDS, default 5): everything keeps serving, but `/health/ping` answers
   503, so a readiness probe on it takes the pod out of its Services while Kubernetes is still
   propagating the endpoint removal to kube-proxy and ingresses (which happens asynchronously).
2. Stop, for up to SELDON_S2I_GRACE_SECONDS (default 20): the gRPC processes get SIGTERM and stop
   with that grace (no new calls; calls in progress complete); gunicorn stops its REST workers with
   that graceful timeout, and each worker, before exiting, answers every connection still waiting in
   the listening socket's backlog (those were accepted by the kernel: a client sent its request).
3. The metrics server and any `custom_service` are stopped last; the process exits 0.

Default total 25 s, within Kubernetes' default 30 s grace period. Seldon Core's operator already runs
`sleep 10` as a preStop hook with a 20 s grace period: the drain then adds to its 10 s.

This file runs in the application interpreter (imported by seldon_s2i_serve, and by gunicorn by name
for its worker class), so it imports nothing from the builder's tools.
"""

from __future__ import annotations

import errno
import logging
import mmap
import multiprocessing
import os
import signal
import struct
import sys
import threading
from collections.abc import Callable
from typing import Any

import seldon_s2i_fork as fork
import seldon_s2i_probes as probes
import seldon_s2i_settings as settings
from gunicorn.arbiter import Arbiter
from gunicorn.errors import HaltServer
from gunicorn.workers.sync import SyncWorker

logger = logging.getLogger(__name__)

WORKER_CLASS = f"{__name__}.DrainingSyncWorker"  # gunicorn turns it into gthread for GUNICORN_THREADS > 1

# Set by SIGTERM in a gRPC process (see _on_term).
_stop = threading.Event()
_grpc_parent: Any = None  # the process that runs the gRPC workers, set by start_servers
_mp: Any = multiprocessing  # the wrapper's multiprocessing module (USE_MULTIPROCESS may swap it)


def seconds(variable: str, default: float) -> float:
    """`run` has validated it already; a value set by hand inside a running container falls back."""
    try:
        return max(0.0, float(os.environ.get(variable, "").strip() or default))
    except ValueError:
        return default


def draining() -> bool:
    """The shared draining flag lives in seldon_s2i_probes (both servers read it); kept here by name."""
    return bool(probes.draining())


def _on_term(signum: int, frame: Any) -> None:
    """SIGTERM in the gRPC parent and in each gRPC worker: stop, and pass it on to the children."""
    _stop.set()
    for child in _mp.active_children():
        if child.pid:
            os.kill(child.pid, signal.SIGTERM)


def wait_then_stop_grpc(server: Any) -> None:
    """Replaces the wrapper's `_wait_forever` in each gRPC worker: serve until SIGTERM, then stop with
    the grace (new calls are refused, calls in progress run to completion)."""
    signal.signal(signal.SIGTERM, _on_term)
    while not _stop.wait(1.0):
        pass
    grace = seconds(settings.GRACE, settings.GRACE_DEFAULT)
    logger.info("gRPC server %d: stopping, up to %gs for calls in progress", os.getpid(), grace)
    server.stop(grace).wait()


def _stop_grpc() -> None:
    if _grpc_parent is None or not _grpc_parent.pid:
        return
    try:
        os.kill(_grpc_parent.pid, signal.SIGTERM)
    except ProcessLookupError:  # gone already (gunicorn's master reaps every child of this process)
        pass


def _run_grpc_parent(target: Callable[[], None]) -> None:
    signal.signal(signal.SIGTERM, _on_term)
    fork.prepare_grpc_workers()
    target()


def start_servers(
    target1: Callable[[], None],
    target2: Callable[[], None] | None,
    target3: Callable[[], None] | None,
    metrics_target: Callable[[], None] | None,
    mp: Any = None,
) -> None:
    """The wrapper's start_servers (same processes, same order), with an ordered stop."""
    global _grpc_parent, _mp
    _mp = mp or multiprocessing
    fork.freeze_what_is_loaded()
    others = []
    if target2:
        _grpc_parent = _mp.Process(target=_run_grpc_parent, args=(target2,), daemon=False)
        _grpc_parent.start()
    for target in (target3, metrics_target):
        if target:
            process = _mp.Process(target=target, daemon=True)
            process.start()
            others.append(process)
    main = os.getpid()
    try:
        target1()  # the REST gunicorn master, in this process; returns by SystemExit once stopped
    finally:
        if os.getpid() == main:  # gunicorn's forked workers leave through here too
            _stop_children(others)


def _stop_children(others: list[Any]) -> None:
    _stop_grpc()  # told already when this is a SIGTERM; not when REST failed to start
    if _grpc_parent is not None:
        _grpc_parent.join(seconds(settings.GRACE, settings.GRACE_DEFAULT) + 5)
        if _grpc_parent.is_alive():
            _grpc_parent.kill()
            _grpc_parent.join()
    for process in others:
        process.terminate()
        process.join(5)


class GracefulArbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, whose SIGTERM first drains, then stops gRPC and REST together; and which
    replaces a worker at its GUNICORN_MAX_REQUESTS by starting the new one first (see
    DrainingSyncWorker): the old one serves until the new one has loaded the model."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.replacing: dict[int, tuple[int, float]] = {}  # old worker -> its replacement, first heartbeat
        self.retiring: set[int] = set()  # old workers told to stop, until reaped

    def handle_term(self) -> None:
        drain = seconds(settings.DRAIN, settings.DRAIN_DEFAULT)
        if not probes.draining() and drain > 0:
            probes.start_draining()
            self.log.info("SIGTERM: draining for %gs (/health/ping answers 503), then stopping", drain)
            timer = threading.Timer(drain, os.kill, (os.getpid(), signal.SIGTERM))
            timer.daemon = True
            timer.start()
            return
        probes.start_draining()
        self.log.info("Stopping: REST and gRPC finish the requests they accepted")
        _stop_grpc()
        raise StopIteration

    def handle_ttin(self) -> None:
        asking = _take_recycle_requests()
        if not asking:
            super().handle_ttin()  # gunicorn's own meaning: one worker more
            return
        busy = set(self.replacing) | self.retiring
        for old in asking:
            if old in self.WORKERS and old not in busy and not probes.draining():
                new = self.spawn_worker()
                self.replacing[old] = (new, self.WORKERS[new].tmp.last_update())
                self.log.info("Worker %s reached its max requests: starting %s to replace it", old, new)

    def manage_workers(self) -> None:
        for old, (new, heartbeat) in list(self.replacing.items()):
            replacement = self.WORKERS.get(new)
            if old not in self.WORKERS or replacement is None:  # one of them died: plain accounting
                del self.replacing[old]
            elif replacement.tmp.last_update() != heartbeat:  # it has loaded and serves
                del self.replacing[old]
                self.retiring.add(old)
                self.log.info("Worker %s serves: stopping worker %s", new, old)
                self.kill_worker(old, signal.SIGTERM)
        self.retiring &= set(self.WORKERS)
        # The replacements and the retiring workers are on top of GUNICORN_WORKERS, not instead of them.
        extra = len(self.replacing) + len(self.retiring)
        self.num_workers += extra
        try:
            super().manage_workers()
        finally:
            self.num_workers -= extra


def run_arbiter(application: Any) -> None:
    """BaseApplication.run, with the graceful arbiter (same in gunicorn 20.1 and 23)."""
    try:
        GracefulArbiter(application).run()
    except HaltServer as e:  # a second worker failing to boot while the first one's halt stops them
        print(f"\nError: {e.reason}\n", file=sys.stderr)
        sys.exit(e.exit_status)
    except RuntimeError as e:
        print(f"\nError: {e}\n", file=sys.stderr)
        sys.stderr.flush()
        sys.exit(1)


# Workers at their max requests write their pid in their slot, then wake the master with SIGTTIN.
_SLOTS = 64
_recycle_requests = mmap.mmap(-1, 4 * _SLOTS)


def _take_recycle_requests() -> list[int]:
    pids = []
    for slot in range(_SLOTS):
        (pid,) = struct.unpack_from("i", _recycle_requests, 4 * slot)
        if pid:
            pids.append(pid)
            struct.pack_into("i", _recycle_requests, 4 * slot, 0)
    return pids


class DrainingSyncWorker(SyncWorker):  # type: ignore[misc]
    """gunicorn's sync worker that, once told to stop, answers the connections already waiting in the
    listening socket before it exits; and that, at its max requests, asks the master for a replacement
    and goes on serving until told to stop (gunicorn's own worker stops first, and the pod serves with
    one worker less while the new one loads the model)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # gunicorn set max_requests from GUNICORN_MAX_REQUESTS plus jitter (untyped, hence getattr)
        self.recycle_after: int = getattr(self, "max_requests")  # noqa: B009
        self.max_requests = sys.maxsize

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        super().handle(listener, client, addr)
        if self.nr >= self.recycle_after:
            self.recycle_after += self.cfg.max_requests  # asks again if no replacement came
            struct.pack_into("i", _recycle_requests, 4 * (self.age % _SLOTS), os.getpid())
            os.kill(self.ppid, signal.SIGTTIN)

    def run(self) -> None:
        super().run()
        for listener in self.sockets:
            while True:
                try:
                    self.accept(listener)
                except OSError as e:
                    if e.errno == errno.ECONNABORTED:
                        continue
                    if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                        break
                    raise
