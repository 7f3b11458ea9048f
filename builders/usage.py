"""The text `s2i usage <builder>` prints."""

from __future__ import annotations

import platform
from pathlib import Path

from builders import __version__, python_version, wrapper
from builders.layout import IMAGE

# Images built FROM this builder add what they bring as notes here, one .txt file each.
NOTES = IMAGE.usage_notes

TEXT = """\
Seldon Core Python builder {version} ({wrapper} wrapper, Python {python})

Build a Seldon microservice image from a folder of Python source:

  s2i build ./my-model {image} my-model:0.1
  docker run --rm -p 9000:9000 -p 9500:9500 -p 6000:6000 my-model:0.1

The source folder holds:
  MyModel.py            defines class MyModel (file and class share MODEL_NAME)
  .s2i/environment      MODEL_NAME=MyModel, SERVICE_TYPE=MODEL, ... (one KEY=VALUE a line)
  requirements.txt      optional: pip requirements (-r/-c includes and
                        --hash lines work); or requirements.in, compiled at build time
  setup.py / pyproject.toml   optional: the folder as a package, installed after requirements.txt
  uv.lock, poetry.lock, Pipfile.lock or pylock.toml
                        optional: the lock decides what is installed, exactly and hash-checked
                        (see Lock files below)
  environment.yml       optional (or environment.yaml): conda packages from its `channels`,
                        installed first into /opt/app-root/conda (on PATH, LD_LIBRARY_PATH,
                        CONDA_PREFIX at run time), then its `pip:` section
  before-run            optional: an executable run before the server starts

One builder per Python:
{builders}
A source that asks for another Python (requires-python in pyproject.toml, uv.lock or
pylock.toml; .python-version; python_version in the Pipfile) fails at once, naming the
builder that fits. A conda environment that pins python brings its own.

Build variables (.s2i/environment or `s2i build -e KEY=VALUE`):
  MODEL_NAME            required. MyModel, or package.module.MyModel
  SERVICE_TYPE          MODEL (default), ROUTER, TRANSFORMER, OUTPUT_TRANSFORMER, COMBINER,
                        OUTLIER_DETECTOR. The class needs, in order: predict, route,
                        transform_input, transform_output, aggregate, score or transform_input
                        (served at /api/v1.0/predictions, /route, /transform-input,
                        /transform-output, /aggregate, /transform-input). An outlier detector's
                        score() result comes back in the response's meta.tags.outlierScore
  PAYLOAD_PASSTHROUGH   false (default) or true: hand the raw request payload to the class
  EXTRA_INDEX_URL       extra package index(es), space separated. Pass it with -e, not in the
                        source folder; a password in it stays in the image configuration
  PIP_TRUSTED_HOST      host(s) allowed without a valid TLS certificate
  INSTALLER             uv (default) or pip
  PERSISTENCE, API_TYPE legacy: accepted with a notice, not needed

Local wheels: `s2i build -i ./wheels:/whl ...` installs wheels found there before any index.
Index credentials: `s2i build -i ./secrets:/opt/s2i/secrets ...` with a netrc file or a pip.conf
in ./secrets; they are used in place and stay out of the image (a password in EXTRA_INDEX_URL
would stay in the image configuration). Installed set: /opt/app-root/requirements.lock.

Lock files: one lock decides the Python packages (its default dependencies, no dev groups):
  uv.lock        checked with `uv export --locked` against pyproject.toml, offline
  poetry.lock    Poetry 2 lock; content-hash checked against pyproject.toml; the main group
  Pipfile.lock   _meta.hash checked against the Pipfile; the default section
  pylock.toml    PEP 751; the packages for this Python, chosen with packaging.pylock
  A stale lock fails before any download: "ERROR uv.lock is out of date: it no longer matches
  pyproject.toml" and "TIP Run `uv lock` ..." (`poetry lock`, `pipenv lock`). requirements.txt
  beside a lock is not installed (the log says so); two locks, a lock beside environment.yml, or a
  Pipfile without Pipfile.lock fail naming the files. A locked version the wrapper's pins exclude
  fails naming both sides. The lock's indexes are used, with credentials from /opt/s2i/secrets.

SBOM: CycloneDX JSON of the application environment, wrapper included, at
/opt/app-root/sbom.cdx.json (image label io.seldon.s2i.sbom), each package with its licence.
The build log warns (WARNING, one line a package; the build goes on) about a package whose licence
restricts production use: BUSL, SSPL, Commons Clause, proprietary or commercial.

Wrapper: {wrapper}, rebuilt as {wrapper_version} for this stack (protobuf modules
regenerated, the builder's pins; 4xx errors keep their status). Images label it io.seldon.s2i.wrapper.

Runtime variables (docker run -e, or the SeldonDeployment):
  PREDICTIVE_UNIT_HTTP_SERVICE_PORT     REST port, default 9000
  PREDICTIVE_UNIT_GRPC_SERVICE_PORT     gRPC port, default 9500
  PREDICTIVE_UNIT_METRICS_SERVICE_PORT  Prometheus /metrics port, default 6000
  PREDICTIVE_UNIT_PARAMETERS            JSON list of class parameters
  GUNICORN_WORKERS, GUNICORN_THREADS, GRPC_WORKERS, GRPC_THREADS, GUNICORN_MAX_REQUESTS,
  GUNICORN_MAX_REQUESTS_JITTER, SELDON_LOG_LEVEL, PAYLOAD_PASSTHROUGH and every other seldon-core
  wrapper variable pass through.
  SELDON_S2I_DRAIN_SECONDS              after SIGTERM, keep serving this long while /health/ping
                                        answers 503 (default 5), then stop
  SELDON_S2I_GRACE_SECONDS              then requests in progress get this long (default 20)
  SELDON_S2I_METRICS                    mmap (default): custom metrics in per-process files;
                                        stock: the wrapper's own Manager-based class
  SELDON_S2I_V2_MODEL_NAME              the model's name in the Open Inference Protocol
                                        (default: the class's name)
  SELDON_S2I_SERVER                     granian (default): the REST server; gunicorn: the wrapper's
                                        own (GUNICORN_* variables apply to either)
  SELDON_S2I_V2                         on (default): the Open Inference Protocol beside the Seldon
                                        protocol; off: the Seldon protocol only

Two protocols, one class, the same ports:
  Seldon protocol   REST /api/v1.0/predictions, /health/ping, ...; gRPC seldon.protos.*
  Open Inference Protocol (V2, KServe v2): REST /v2, /v2/health/live, /v2/health/ready,
                    /v2/models/<name>[/versions/<v>][/ready|/infer], JSON or binary tensors;
                    gRPC inference.GRPCInferenceService (ModelInfer, ModelReady, ...)
  V2 to the class: one input is X (a numpy array of its datatype and shape; BYTES: bytes);
  several inputs: X is a dict {{input name: array}}. The return value becomes the outputs (a dict
  gives one output per key; else one output, "output-0" or the one output the request asks for).
  MODEL: predict, TRANSFORMER: transform_input, OUTPUT_TRANSFORMER: transform_output; ROUTER and
  COMBINER answer 501 (V2 has no route/aggregate). PAYLOAD_PASSTHROUGH: predict_raw gets the
  request as it came. Kubernetes, KServe and SeldonDeployment (protocol: v2) examples: deploy/ in
  the builder's repository.

Probes: liveness GET /health/live (or /v2/health/live) answers 200 while load() runs; readiness
GET /health/ping (or /v2/health/ready) 503 until the class has loaded and while draining, then
200; gRPC health (grpc.health.v1.Health) NOT_SERVING, then SERVING. A startupProbe on the liveness
path covers a slow load().

Try it:
  curl -s -H 'Content-Type: application/json' \\
       -d '{{"data": {{"ndarray": [[1.0, 2.0, 3.0]]}}}}' \\
       http://127.0.0.1:9000/api/v1.0/predictions
  curl -s http://127.0.0.1:9000/health/ping
  curl -s -H 'Content-Type: application/json' \\
       -d '{{"inputs": [{{"name": "x", "datatype": "FP64", "shape": [1, 3], "data": [1, 2, 3]}}]}}' \\
       http://127.0.0.1:9000/v2/models/MyModel/infer
  curl -s http://127.0.0.1:6000/metrics
"""


def text(notes: Path = NOTES, builders_file: Path = IMAGE.builders, python: str | None = None) -> str:
    python = python or platform.python_version()
    minor = ".".join(python.split(".")[:2])
    images = python_version.builders(builders_file)
    own = images.get(minor) or (python_version.image_name(minor),)
    listed = "".join(f"  Python {m}: {' = '.join(names)}\n" for m, names in images.items())
    extra = "".join("\n" + note.read_text(encoding="utf-8") for note in sorted(notes.glob("*.txt")))
    # the default Python's image is also seldon-core-s2i-python3, the name its example uses (the last)
    return (
        TEXT.format(
            version=__version__,
            image=own[-1],
            python=python,
            builders=listed,
            wrapper=wrapper.TITLE,
            wrapper_version=wrapper.VERSION,
        )
        + extra
    )
