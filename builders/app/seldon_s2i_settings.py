"""The names the code in this folder reads, written once: variables, their values, exit codes, files.

This folder (`builders/app/`) holds the code that runs in the *application's* interpreter
(`/opt/app-root/bin/python`, or a conda environment's Python), never in the builder's tools
environment: the serving shim that `run` execs (`seldon_s2i_serve.py` and the modules it imports),
the outlier adapter, and the two build-time scripts (`seldon_s2i_probe.py` imports the user's class,
`seldon_s2i_bytecode.py` compiles the installed packages). Its contract, enforced by
tests/unit/test_structure.py:
- no module here imports `builders` or anything of the builder's tools environment: only the standard
  library, modules of this folder, and the wrapper stack the application environment always has
  (builders/wrapper-requirements.txt: seldon-core, Flask, granian, gunicorn, grpcio, protobuf, numpy,
  prometheus_client, ...);
- modules import each other by their bare names (the folder is the first entry of sys.path when one
  of them runs as a script, and `run` puts it on PYTHONPATH for the outlier adapter); every name starts
  with `seldon_s2i_`, so none hides a user's module (a model that imports `settings` or `probe`);
- this module imports the standard library only, so the builder side reads these names from here too
  (`from builders.app import seldon_s2i_settings`) instead of spelling them again.
"""

from __future__ import annotations

import os

FOLDER = os.path.dirname(os.path.abspath(__file__))

# The REST server: granian (the default) or the wrapper's own gunicorn.
SERVER = "SELDON_S2I_SERVER"
SERVER_VALUES = ("granian", "gunicorn")
# Custom metrics: mmap (the default), per-process memory-mapped files; stock: the wrapper's Manager.
METRICS = "SELDON_S2I_METRICS"
METRICS_VALUES = ("mmap", "stock")
# After SIGTERM: /health/ping answers 503 while everything still serves (drain), then requests in
# progress get the grace period to complete.
DRAIN = "SELDON_S2I_DRAIN_SECONDS"
DRAIN_DEFAULT = 5.0
GRACE = "SELDON_S2I_GRACE_SECONDS"
GRACE_DEFAULT = 20.0
# MODEL_NAME of the user's class when the outlier adapter serves it (set by `run`).
COMPONENT = "SELDON_S2I_COMPONENT"
# SERVICE_TYPE as built (set by `run`): the wrapper's --service-type has no OUTPUT_TRANSFORMER.
SERVICE_TYPE = "SELDON_S2I_SERVICE_TYPE"
# on (the default): the Open Inference Protocol beside the Seldon protocol; off: the Seldon protocol
# only (V2's health routes still answer: they are the probes).
V2 = "SELDON_S2I_V2"
V2_VALUES = ("on", "off")
# The Open Inference Protocol's model name (default: the class name of MODEL_NAME).
V2_MODEL_NAME = "SELDON_S2I_V2_MODEL_NAME"
# Read by the wrapper itself too: how many REST and gRPC processes load the class.
REST_WORKERS = "GUNICORN_WORKERS"
GRPC_WORKERS = "GRPC_WORKERS"

# The exit status of a process whose class's load() raised: gunicorn's arbiter halts on it (its
# WORKER_BOOT_ERROR), and the container stops instead of serving without the class.
EXIT_LOAD_FAILED = 3

# The scripts the builder side runs with the application's interpreter, and the adapter it names.
SERVE_SCRIPT = "seldon_s2i_serve.py"
PROBE_SCRIPT = "seldon_s2i_probe.py"
BYTECODE_SCRIPT = "seldon_s2i_bytecode.py"
SCORE_ADAPTER = "seldon_s2i_outlier.ScoreOutlierDetector"
