"""`run` execs this instead of the `seldon-core-microservice` script: the same server, with two changes.

It calls seldon-core's own `seldon_core.microservice.main()` (same argv, same processes, endpoints
and protocol) after replacing a few of that module's names:

- `SeldonMetrics` by `seldon_s2i_metrics.MmapSeldonMetrics` (no Manager process, no round trip on
  the request path; same exposition). `SELDON_S2I_METRICS=stock` keeps the wrapper's own class.
- `start_servers`, `_wait_forever` (the gRPC processes' wait) and the REST gunicorn application's
  arbiter and worker class, plus `/health/ping`, for a stop that loses no request
  (`seldon_s2i_graceful`).

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
from typing import Any

import seldon_s2i_graceful as graceful

METRICS_VARIABLE = "SELDON_S2I_METRICS"
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


def use_graceful_stop(microservice: Any, wrapper: Any) -> None:
    stock_rest_app = wrapper.get_rest_microservice
    stock_application = microservice.UserModelApplication

    class GracefulApplication(stock_application):  # type: ignore[misc,valid-type]
        def load_config(self) -> None:
            super().load_config()
            grace = graceful.seconds(graceful.GRACE_VARIABLE, graceful.DEFAULT_GRACE)
            self.cfg.set("graceful_timeout", math.ceil(grace))  # gunicorn takes whole seconds
            self.cfg.set("worker_class", graceful.WORKER_CLASS)

        def run(self) -> None:
            graceful.run_arbiter(self)

    microservice.UserModelApplication = GracefulApplication
    microservice._wait_forever = graceful.wait_then_stop_grpc
    microservice.start_servers = lambda *targets: graceful.start_servers(*targets, mp=microservice.mp)
    wrapper.get_rest_microservice = lambda *args, **kwargs: graceful.readiness(
        stock_rest_app(*args, **kwargs)
    )


def main() -> None:
    from seldon_core import microservice, wrapper

    if os.environ.get(METRICS_VARIABLE, "").strip().lower() != "stock":
        use_mmap_metrics(microservice)
    use_graceful_stop(microservice, wrapper)
    # Python 3.14 starts processes with forkserver by default on Linux; the wrapper hands its server
    # processes local functions, which only fork carries (the default of 3.11 to 3.13 on Linux).
    microservice.mp.set_start_method("fork", force=True)
    sys.argv[0] = "seldon-core-microservice"
    microservice.main()


if __name__ == "__main__":
    main()
