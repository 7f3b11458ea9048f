"""The Open Inference Protocol (V2, "KServe v2") for the class the wrapper serves: the call itself.

The same processes and ports as the Seldon protocol: seldon_s2i_v2_rest answers the `/v2` REST paths
in front of the wrapper's Flask app, and seldon_s2i_v2_grpc adds `inference.GRPCInferenceService` to
the wrapper's gRPC server. Both call `Served.infer` with tensors decoded by seldon_s2i_v2_tensors.

The mapping (README "Open Inference Protocol (V2)"):
- The model's name is the class name of MODEL_NAME; SELDON_S2I_V2_MODEL_NAME replaces it.
- One input: the class receives it as X, a numpy array of the tensor's datatype and shape (BYTES:
  an object array of `bytes`). Several inputs: X is a dict {input name: array}, in request order.
- `names` are the request's `names` parameter (a list, or a comma-separated string), else [];
  `meta` is {"puid": the request id, "tags": the request parameters}.
- What the class returns: a dict {name: value} gives one output per key; anything else one output,
  named after the one output the request asks for, else "output-0". A value becomes a tensor:
  numpy arrays keep their datatype; lists become the array numpy makes of them; str/bytes are BYTES.
- The request's `id` comes back; its parameters come back with the class's tags added.
- MODEL answers infer with predict, TRANSFORMER with transform_input, OUTPUT_TRANSFORMER with
  transform_output; a ROUTER or COMBINER answers 501 (V2 has no route or aggregate call).
- PAYLOAD_PASSTHROUGH: the raw method (predict_raw, ...) gets the request as it came: the body's
  bytes over REST, the ModelInferRequest over gRPC; its result is sent back as it is.
- Custom metrics (SeldonResponse metrics and `metrics()`) go to the same SeldonMetrics as Seldon calls,
  under the same `method` label.

This file runs in the application interpreter (seldon_s2i_settings says what that allows).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import seldon_s2i_settings as settings
from seldon_s2i_v2_tensors import Tensor, V2Error, as_tensor, scalar

DEFAULT_OUTPUT = "output-0"
PLATFORM = "seldon-core-python"
SERVER_NAME = "seldon-core-s2i"
EXTENSIONS = ["binary_tensor_data"]


def not_found(name: str, served: str) -> V2Error:
    return V2Error(f"Model {name!r} is not served here: this server serves {served!r}", 404, "NOT_FOUND")


def _always() -> bool:
    return True


# One readiness function for every V2 probe (REST ready, model ready; gRPC ServerReady, ModelReady).
# seldon_s2i_serve sets it to the serving layer's own truth.
readiness: Callable[[], bool] = _always
# Whether the class has loaded in this process (seldon_s2i_serve sets it too): an infer before that gets
# UNAVAILABLE over gRPC (REST's answer, 503, comes from the probe layer in front of this app).
loaded: Callable[[], bool] = _always


def _calls_by_service_type() -> dict[str, tuple[Callable[..., Any], str, str]]:
    """The wrapper's call, its metrics `method` label and the raw method, of each type V2 can call."""
    from seldon_core import metrics
    from seldon_core import user_model as calls

    transform_input = (
        calls.client_transform_input,
        metrics.INPUT_TRANSFORM_METRIC_METHOD_TAG,
        "transform_input_raw",
    )
    return {
        "MODEL": (calls.client_predict, metrics.PREDICT_METRIC_METHOD_TAG, "predict_raw"),
        "TRANSFORMER": transform_input,
        # the Seldon protocol serves an outlier detector's transform_input too
        "OUTLIER_DETECTOR": transform_input,
        "OUTPUT_TRANSFORMER": (
            calls.client_transform_output,
            metrics.OUTPUT_TRANSFORM_METRIC_METHOD_TAG,
            "transform_output_raw",
        ),
    }


@dataclass
class Served:
    """The class instance the wrapper serves, called the V2 way."""

    user_model: Any
    seldon_metrics: Any
    service_type: str
    name: str
    passthrough: bool
    method: tuple[Callable[..., Any], str, str] | None = field(init=False)
    # the raw method (predict_raw, ...) when PAYLOAD_PASSTHROUGH is on and the class has it
    raw: Callable[[Any], Any] | None = field(init=False)

    def __post_init__(self) -> None:
        self.method = _calls_by_service_type().get(self.service_type)
        raw = self.method and getattr(self.user_model, self.method[2], None)
        self.raw = raw if self.passthrough and callable(raw) else None

    def check(self, name: str) -> None:
        if name != self.name:
            raise not_found(name, self.name)
        if self.method is None:
            call = "route" if self.service_type == "ROUTER" else "aggregate"
            raise V2Error(
                f"This image serves a {self.service_type}: the Open Inference Protocol has no {call} "
                f"call. Use the Seldon protocol (REST /{call}, gRPC {self.service_type.title()}"
                f"/{call.title()}) for it.",
                501,
                "UNIMPLEMENTED",
            )

    def metadata(self) -> dict[str, Any]:
        """Model metadata; inputs and outputs from the class's init_metadata() where it gives them in
        V2 form (name, datatype, shape)."""
        found: dict[str, list[dict[str, Any]]] = {"inputs": [], "outputs": []}
        init = getattr(self.user_model, "init_metadata", None)
        try:
            given = init() if callable(init) else {}
        except Exception:  # noqa: BLE001 -- the Seldon metadata endpoint reports it; V2 shows none
            given = {}
        for key in found:
            for tensor in given.get(key) or [] if isinstance(given, dict) else []:
                if isinstance(tensor, dict) and {"name", "datatype", "shape"} <= set(tensor):
                    found[key].append({k: tensor[k] for k in ("name", "datatype", "shape")})
        return {"name": self.name, "versions": [], "platform": PLATFORM, **found}

    def infer(
        self, inputs: list[Tensor], wanted: list[str], request_id: str, parameters: dict[str, Any]
    ) -> tuple[list[Tensor], dict[str, Any]]:
        from seldon_core import user_model as calls

        assert self.method is not None
        call, tag, _raw = self.method
        if not inputs:
            raise V2Error("the request has no inputs")
        X: Any = inputs[0].array if len(inputs) == 1 else {t.name: t.array for t in inputs}
        if len(inputs) > 1 and len(X) != len(inputs):
            raise V2Error("two inputs have the same name")
        names = parameters.get("names", [])
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        meta = {"puid": request_id, "tags": dict(parameters)}
        response = call(self.user_model, X, names, meta=meta)
        calls.client_custom_metrics(self.user_model, self.seldon_metrics, tag, response.metrics)
        tags = {**calls.client_custom_tags(self.user_model), **(response.tags or {})}
        out_parameters = {k: v for k, v in parameters.items() if k not in _EXTENSION_PARAMETERS}
        out_parameters.update(tags)
        return _outputs(response.data, wanted), {str(k): scalar(v) for k, v in out_parameters.items()}


def _outputs(data: Any, wanted: list[str]) -> list[Tensor]:
    """What the class returned, as the outputs the request asks for (all of them when it names none)."""
    if isinstance(data, dict):
        produced = [Tensor(str(k), *as_tensor(str(k), v)) for k, v in data.items()]
    else:
        name = wanted[0] if len(wanted) == 1 else DEFAULT_OUTPUT
        produced = [Tensor(name, *as_tensor(name, data))]
    if not wanted:
        return produced
    by_name = {t.name: t for t in produced}
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise V2Error(f"unknown output {missing[0]!r}: the model gives {', '.join(by_name)}")
    return [by_name[n] for n in wanted]


_EXTENSION_PARAMETERS = {"binary_data_output", "names"}


def component_name(interface: str) -> str:
    """The V2 model name: SELDON_S2I_V2_MODEL_NAME, else MODEL_NAME's class name."""
    return os.environ.get(settings.V2_MODEL_NAME, "").strip() or interface.rsplit(".", 1)[-1]
