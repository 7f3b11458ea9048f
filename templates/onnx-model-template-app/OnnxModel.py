"""Serve an ONNX model with ONNX Runtime (build with seldonio/seldon-core-s2i-python3-ngraph-onnx).

Put your model in this folder as `model.onnx`, or point the `model_path` class parameter at another
file (a path relative to this folder, or absolute, e.g. a mounted volume):

    PREDICTIVE_UNIT_PARAMETERS='[{"name": "model_path", "value": "/mnt/models/my.onnx", "type": "STRING"}]'

The model's single input gets the request's features (cast to the input's type); the response is the
model's first output. Input and output names, types and shapes are read from the model and reported at
/metadata. `make_model.py` wrote the small logistic regression shipped here.
"""

import logging
import os

import numpy as np
import onnxruntime as ort
from seldon_core.user_model import SeldonNotImplementedError

log = logging.getLogger(__name__)

HERE = os.path.dirname(os.path.abspath(__file__))
# OpenVINO where this image has it (x86_64), ONNX Runtime's own CPU kernels for everything else.
PREFERRED_PROVIDERS = ["OpenVINOExecutionProvider", "CPUExecutionProvider"]
# ONNX tensor types -> (numpy type for the input, Seldon/KServe metadata datatype)
TYPES = {
    "tensor(float)": (np.float32, "FP32"),
    "tensor(double)": (np.float64, "FP64"),
    "tensor(float16)": (np.float16, "FP16"),
    "tensor(int64)": (np.int64, "INT64"),
    "tensor(int32)": (np.int32, "INT32"),
    "tensor(int16)": (np.int16, "INT16"),
    "tensor(int8)": (np.int8, "INT8"),
    "tensor(uint8)": (np.uint8, "UINT8"),
    "tensor(bool)": (np.bool_, "BOOL"),
    "tensor(string)": (np.object_, "BYTES"),
}


class OnnxModel:
    def __init__(self, model_path="model.onnx"):
        self.model_path = os.path.join(HERE, model_path)  # an absolute model_path stays as it is
        if not os.path.isfile(self.model_path):
            raise FileNotFoundError(
                f"ONNX model {self.model_path} not found: put model.onnx next to OnnxModel.py, "
                "or set the model_path parameter in PREDICTIVE_UNIT_PARAMETERS"
            )
        available = ort.get_available_providers()
        self.session = ort.InferenceSession(
            self.model_path, providers=[p for p in PREFERRED_PROVIDERS if p in available]
        )
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            names = ", ".join(i.name for i in inputs)
            raise ValueError(
                f"{self.model_path} has {len(inputs)} inputs ({names}); OnnxModel feeds one. "
                "Edit predict() to build a feed for each of them"
            )
        self.input = inputs[0]
        self.output = self.session.get_outputs()[0]
        self.input_dtype = TYPES.get(self.input.type, (np.float32, ""))[0]
        log.info(
            "Loaded %s: input %s %s %s, output %s %s %s, providers %s",
            self.model_path, self.input.name, self.input.type, self.input.shape,
            self.output.name, self.output.type, self.output.shape, self.session.get_providers(),
        )

    def predict(self, X, features_names=None):
        features = np.asarray(X, dtype=self.input_dtype)
        return self.session.run([self.output.name], {self.input.name: features})[0]

    def class_names(self):
        # One name per output column when the model fixes the column count; else Seldon's t:0, t:1, ...
        width = self.output.shape[-1] if len(self.output.shape) == 2 else None
        if not isinstance(width, int):
            raise SeldonNotImplementedError("output width is not fixed by the model")
        return [self.output.name] if width == 1 else [f"{self.output.name}:{i}" for i in range(width)]

    def init_metadata(self):
        return {
            "name": os.path.splitext(os.path.basename(self.model_path))[0],
            "platform": f"onnxruntime-{ort.__version__}",
            "inputs": [_tensor(i) for i in self.session.get_inputs()],
            "outputs": [_tensor(o) for o in self.session.get_outputs()],
            "custom": {"execution_providers": ",".join(self.session.get_providers())},
        }


def _tensor(node):
    """An input or output as Seldon metadata: name, datatype, shape (-1 for a dimension left open)."""
    return {
        "name": node.name,
        "datatype": TYPES.get(node.type, (None, "BYTES"))[1],
        "shape": [d if isinstance(d, int) else -1 for d in node.shape],
    }
