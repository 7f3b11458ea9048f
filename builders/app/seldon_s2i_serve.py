"""`run` execs this instead of the `seldon-core-microservice` script: the same server, with two changes.

It calls seldon-core's own `seldon_core.microservice.main()` (same argv, same processes, endpoints
and protocol) after replacing a few of that module's names:

- `SeldonMetrics` by `seldon_s2i_metrics.MmapSeldonMetrics` (no Manager process, no round trip on
  the request path; same exposition). `SELDON_S2I_METRICS=stock` keeps the wrapper's own class.
- `UserModelApplication`, the REST server: granian by default (`seldon_s2i_granian`), or gunicorn
  with `SELDON_S2I_SERVER=gunicorn` (its arbiter and worker class from `seldon_s2i_graceful`). Either
  serves the wrapper's Flask app, as WSGI, behind `seldon_s2i_probes.ProbeLayer` (liveness, readiness).
- `start_servers`, `_run_grpc_server` and `_wait_forever` (the gRPC processes), for health while
  load() runs and a stop that loses no request (`seldon_s2i_probes`, `seldon_s2i_graceful`).
- `get_rest_microservice` and `get_grpc_server`, which also serve the Open Inference Protocol (V2)
  from the same class on the same ports (`seldon_s2i_v2`, `seldon_s2i_v2_grpc`).

The names are replaced in the module that looks them up when `main()` runs; seldon-core is pinned by
the builder, and tests/docker/test_serving.py compares the result with the stock wrapper's.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import math
import os
import shutil
import sys
import traceback
from typing import Any

import seldon_s2i_fork as fork
import seldon_s2i_graceful as graceful
import seldon_s2i_probes as probes
import seldon_s2i_settings as settings

logger = logging.getLogger(__name__)


def use_mmap_metrics(microservice: Any) -> None:
    from seldon_s2i_metrics import MmapSeldonMetrics

    creator = os.getpid()

    def factory(worker_id_func: Any = os.getpid, extra_default_labels: Any = None) -> MmapSeldonMetrics:
        metrics = MmapSeldonMetrics(worker_id_func, extra_default_labels)

        def remove() -> None:
            if os.getpid() == creator:  # forked gunicorn workers run atexit handlers too
                shutil.rmtree(metrics.directory, ignore_errors=True)

        atexit.register(remove)
        return metrics

    microservice.SeldonMetrics = factory


def use_gunicorn(microservice: Any) -> None:
    stock_application = microservice.UserModelApplication

    class GracefulApplication(stock_application):  # type: ignore[misc,valid-type]
        def load_config(self) -> None:
            super().load_config()
            grace = graceful.seconds(settings.GRACE, settings.GRACE_DEFAULT)
            self.cfg.set("graceful_timeout", math.ceil(grace))  # gunicorn takes whole seconds
            self.cfg.set("worker_class", graceful.WORKER_CLASS)

        def load(self) -> Any:
            try:
                app = super().load()  # the worker loads the model before it accepts a connection
            except Exception:  # noqa: BLE001  (told once for all workers; gunicorn halts on exit 3)
                probes.report_failure(traceback.format_exc())
                os._exit(settings.EXIT_LOAD_FAILED)
            probes.mark_loaded(rest=True)
            return probes.ProbeLayer(app, probes.v2_model_name(self.interface_name))

        def run(self) -> None:
            fork.prepare_rest_workers(self.application, answer_a_request=not fork.traced(self))
            graceful.run_arbiter(self)

    microservice.UserModelApplication = GracefulApplication


# granian's Rust side allocates with a jemalloc of its own, which reads this variable once, as granian
# loads. One arena and no per-thread caches: less unshared memory per REST worker at the same
# throughput (measured in docs/serving.md). Set for granian's import only, so other extensions that
# bundle jemalloc (polars, ...) read the user's environment; a value the user set is used as it is.
JEMALLOC_CONF = "_RJEM_MALLOC_CONF"
GRANIAN_JEMALLOC = "narenas:1,tcache:false"


def use_granian(microservice: Any) -> None:
    users = os.environ.get(JEMALLOC_CONF)
    if users is None:
        os.environ[JEMALLOC_CONF] = GRANIAN_JEMALLOC
    try:
        from seldon_s2i_granian import GranianApplication
    finally:
        if users is None:
            del os.environ[JEMALLOC_CONF]

    probes.setup(report_to=os.getpid())
    microservice.UserModelApplication = GranianApplication


def use_graceful_stop(microservice: Any) -> None:
    microservice._run_grpc_server = probes.run_grpc_server
    microservice._wait_forever = graceful.wait_then_stop_grpc
    microservice.start_servers = lambda *targets: graceful.start_servers(*targets, mp=microservice.mp)


def use_v2(wrapper: Any, argv: list[str]) -> None:
    """V2 next to the Seldon protocol: a WSGI middleware on the REST app, a servicer on the gRPC server."""
    import seldon_s2i_v2 as v2
    import seldon_s2i_v2_rest

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("interface_name")
    parser.add_argument("--service-type", default="MODEL")
    args, _ = parser.parse_known_args(argv)
    # the outlier adapter serves the class SELDON_S2I_COMPONENT names
    interface = os.environ.get(settings.COMPONENT) or args.interface_name
    name = v2.component_name(interface)
    # SERVICE_TYPE as built (run sets it): the wrapper's --service-type has no OUTPUT_TRANSFORMER
    service_type = os.environ.get(settings.SERVICE_TYPE) or args.service_type
    v2.readiness = probes.ready
    v2.loaded = probes.is_loaded
    stock_rest_app, stock_grpc_server = wrapper.get_rest_microservice, wrapper.get_grpc_server

    def served(user_model: Any, seldon_metrics: Any) -> Any:
        return v2.Served(user_model, seldon_metrics, service_type, name, wrapper.PAYLOAD_PASSTHROUGH)

    def rest_app(user_model: Any, seldon_metrics: Any) -> Any:
        app = stock_rest_app(user_model, seldon_metrics)
        app.wsgi_app = seldon_s2i_v2_rest.RestV2(served(user_model, seldon_metrics), app.wsgi_app)
        return app

    def grpc_server(user_model: Any, seldon_metrics: Any, *args: Any, **kwargs: Any) -> Any:
        import seldon_s2i_v2_grpc

        # reflection covers it beside the Seldon services (wrapper.enable_reflection: wrapperpatches.py)
        wrapper.enable_reflection = seldon_s2i_v2_grpc.enable_reflection
        server = stock_grpc_server(user_model, seldon_metrics, *args, **kwargs)
        seldon_s2i_v2_grpc.add_to_server(server, served(user_model, seldon_metrics))
        return server

    wrapper.get_rest_microservice = rest_app
    wrapper.get_grpc_server = grpc_server
    fork.GRPC_SERVER_MODULES.append("seldon_s2i_v2_grpc")


def count_loaders(argv: list[str], gunicorn: bool) -> None:
    """Tell the probes how many processes load the class before the pod is ready: the wrapper's own
    `--workers` and `--grpc-workers` (with its defaults), known here before anything forks. gunicorn's
    workers accept only once loaded, so for it one REST worker suffices."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--workers", type=int, default=int(os.environ.get(settings.REST_WORKERS, "1")))
    parser.add_argument("--grpc-workers", type=int, default=int(os.environ.get(settings.GRPC_WORKERS, "1")))
    args, _ = parser.parse_known_args(argv)
    probes.rest_workers = 1 if gunicorn else max(1, args.workers)
    probes.grpc_workers = max(0, args.grpc_workers)


def main() -> None:
    fork.collect_rarely_until_the_fork()
    from seldon_core import microservice, wrapper

    if os.environ.get(settings.METRICS, "").strip().lower() != "stock":
        use_mmap_metrics(microservice)
    gunicorn = os.environ.get(settings.SERVER, "").strip().lower() == "gunicorn"
    count_loaders(sys.argv[1:], gunicorn)
    if gunicorn:
        probes.setup(report_to=None)
        use_gunicorn(microservice)
    else:
        use_granian(microservice)
    use_graceful_stop(microservice)
    # Python 3.14 starts processes with forkserver by default on Linux; the wrapper hands its server
    # processes local functions, which only fork carries (the default of 3.11 to 3.13 on Linux).
    microservice.mp.set_start_method("fork", force=True)
    if os.environ.get(settings.V2, "").strip().lower() != "off":
        use_v2(wrapper, sys.argv[1:])
    sys.argv[0] = "seldon-core-microservice"
    microservice.main()


if __name__ == "__main__":
    main()
