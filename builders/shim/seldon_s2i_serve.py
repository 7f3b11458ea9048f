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

The names are replaced in the module that looks them up when `main()` runs; seldon-core is pinned by
the builder, and tests/docker/test_serving.py compares the result with the stock wrapper's.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import shutil
import sys
import traceback
from typing import Any

import seldon_s2i_graceful as graceful
import seldon_s2i_probes as probes

METRICS_VARIABLE = "SELDON_S2I_METRICS"
SERVER_VARIABLE = "SELDON_S2I_SERVER"
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
            grace = graceful.seconds(graceful.GRACE_VARIABLE, graceful.DEFAULT_GRACE)
            self.cfg.set("graceful_timeout", math.ceil(grace))  # gunicorn takes whole seconds
            self.cfg.set("worker_class", graceful.WORKER_CLASS)

        def load(self) -> Any:
            try:
                app = super().load()  # the worker loads the model before it accepts a connection
            except Exception:  # noqa: BLE001  (told once for all workers; gunicorn halts on exit 3)
                probes.report_failure(traceback.format_exc())
                os._exit(3)
            probes.mark_loaded()
            model_name = os.environ.get("SELDON_S2I_COMPONENT") or self.interface_name.rpartition(".")[2]
            return probes.ProbeLayer(app, model_name)

        def run(self) -> None:
            graceful.run_arbiter(self)

    microservice.UserModelApplication = GracefulApplication


def use_granian(microservice: Any) -> None:
    from seldon_s2i_granian import GranianApplication

    probes.setup(report_to=os.getpid())
    microservice.UserModelApplication = GranianApplication


def use_graceful_stop(microservice: Any) -> None:
    microservice._run_grpc_server = probes.run_grpc_server
    microservice._wait_forever = graceful.wait_then_stop_grpc
    microservice.start_servers = lambda *targets: graceful.start_servers(*targets, mp=microservice.mp)


def main() -> None:
    from seldon_core import microservice

    if os.environ.get(METRICS_VARIABLE, "").strip().lower() != "stock":
        use_mmap_metrics(microservice)
    if os.environ.get(SERVER_VARIABLE, "").strip().lower() == "gunicorn":
        probes.setup(report_to=None)
        use_gunicorn(microservice)
    else:
        use_granian(microservice)
    use_graceful_stop(microservice)
    sys.argv[0] = "seldon-core-microservice"
    microservice.main()


if __name__ == "__main__":
    main()
