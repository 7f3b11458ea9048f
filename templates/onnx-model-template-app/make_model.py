"""Write model.onnx: a logistic regression over three features, built with onnx.helper.

    pip install onnx==1.23.2 && python make_model.py

(onnx 1.23.2 is the release the tests use; any current one writes the same model.)
probability = sigmoid(features @ W + b), for a batch of rows: input `features` float [N, 3],
output `probability` float [N, 1].
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WEIGHTS = np.array([[0.5], [-0.25], [1.0]], dtype=np.float32)
BIAS = np.array([0.1], dtype=np.float32)


def build(weights=WEIGHTS, bias=BIAS, input_name="features", output_name="probability"):
    inputs, outputs = weights.shape
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", [input_name, "weights"], ["logit_raw"]),
            helper.make_node("Add", ["logit_raw", "bias"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], [output_name]),
        ],
        "logistic_regression",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", inputs])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["N", outputs])],
        initializer=[numpy_helper.from_array(weights, "weights"), numpy_helper.from_array(bias, "bias")],
    )
    # opset 13 / IR 7: loads in every ONNX Runtime release of the last years
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_model.py")
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "model.onnx"
    onnx.save(build(), target)
    print(f"wrote {target}")
