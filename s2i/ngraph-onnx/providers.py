"""Which ONNX Runtime execution providers the ngraph-onnx image has, and which one runs a model.

Dockerfile.ngraph-onnx runs this with the application's interpreter while the image is built: the
answer goes to the build log and to the note that `s2i usage` prints (the file given as argument).
A sample model that ships with onnxruntime is run once with profiling on, so the note says which
provider really ran its nodes, not only which ones are compiled in.
"""

from __future__ import annotations

import json
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.datasets import get_example

PREFERRED = ["OpenVINOExecutionProvider", "CPUExecutionProvider"]
IMAGE = "seldonio/seldon-core-s2i-python3-ngraph-onnx"


def distribution() -> str:
    for name in ("onnxruntime-openvino", "onnxruntime"):
        try:
            return f"{name}=={metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    raise SystemExit("ERROR onnxruntime is not installed in this interpreter's environment")


def providers_that_ran(providers: list[str]) -> list[str]:
    """The providers ONNX Runtime placed the nodes of a sample model on, from its profile."""
    with tempfile.TemporaryDirectory() as scratch:
        options = ort.SessionOptions()
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(scratch) / "probe")
        session = ort.InferenceSession(get_example("sigmoid.onnx"), options, providers=providers)
        model_input = session.get_inputs()[0]
        shape = [d if isinstance(d, int) else 1 for d in model_input.shape]
        session.run(None, {model_input.name: np.zeros(shape, dtype=np.float32)})
        events = json.loads(Path(session.end_profiling()).read_text())
    nodes = [e["args"] for e in events if e.get("cat") == "Node"]
    ran = {args["provider"] for args in nodes if "provider" in args}
    return [p for p in providers if p in ran]


def note(version: str) -> str:
    available = ort.get_available_providers()
    ran = providers_that_ran([p for p in PREFERRED if p in available])
    return (
        f"ONNX models: this is {IMAGE}:{version}, the python3 builder plus ONNX Runtime.\n"
        f"  Build with its name: s2i build ./my-onnx-model {IMAGE}:{version} my-onnx-model:0.1\n"
        f"  {distribution()} in /opt/app-root (do not list onnxruntime in requirements.txt)\n"
        f"  execution providers available: {', '.join(available)}\n"
        f"  a sample model ran on: {', '.join(ran)} (checked on the machine that built this image)\n"
        "  Template: templates/onnx-model-template-app (OnnxModel.py serves ./model.onnx; the\n"
        "  model_path class parameter in PREDICTIVE_UNIT_PARAMETERS points elsewhere)\n"
    )


if __name__ == "__main__":
    target, version = Path(sys.argv[1]), sys.argv[2]
    text = note(version)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
