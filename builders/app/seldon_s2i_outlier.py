"""OUTLIER_DETECTOR components written for `score`, served the way Seldon's s2i docs describe.

seldon-core 0.x served an outlier detector's `/transform-input` by passing the request through
unchanged and adding `score(X, feature_names)` to the response as `meta.tags.outlierScore`; the 1.x
wrapper no longer calls `score`. When a SERVICE_TYPE=OUTLIER_DETECTOR class has `score` and no
`transform_input`, `run` serves this adapter instead (`seldon_s2i_outlier.ScoreOutlierDetector`), which
restores that behaviour for REST and gRPC. Every other attribute (load, tags, metrics, health_status,
init_metadata, model_error_handler, ...) is the user's own, so the rest of the wrapper sees the class
as it is.

This file runs in the *application* interpreter (PYTHONPATH points at its folder only), so it imports
nothing from the builder's tool environment.
"""

from __future__ import annotations

import copy
import importlib
import os
from typing import Any

import seldon_s2i_settings as settings


def _component_class() -> Any:
    name = os.environ[settings.COMPONENT]
    module, _, class_name = name.rpartition(".")
    return getattr(importlib.import_module(module or class_name), class_name)


def _plain(scores: Any) -> Any:
    """Scores as JSON-friendly Python values (numpy arrays and scalars included)."""
    tolist = getattr(scores, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(scores, (list, tuple)):
        return [_plain(s) for s in scores]
    return scores


class ScoreOutlierDetector:
    def __init__(self, **parameters: Any) -> None:
        self._component = _component_class()(**parameters)

    def __getattr__(self, name: str) -> Any:
        if name == "_component":  # not set yet: the user's constructor raised
            raise AttributeError(name)
        return getattr(self._component, name)

    def transform_input_raw(self, request: Any) -> Any:
        """The request itself, with the scores (and the class's tags() and metrics()) in its meta.
        A raw method, so that the request's names and data kind come back exactly as sent."""
        from seldon_core.proto import prediction_pb2
        from seldon_core.utils import json_to_seldon_message, seldon_message_to_json

        if isinstance(request, prediction_pb2.SeldonMessage):  # gRPC
            return json_to_seldon_message(self._scored(seldon_message_to_json(request)))
        return self._scored(request)

    def _scored(self, request: dict[str, Any]) -> dict[str, Any]:
        from seldon_core.utils import extract_request_parts_json

        features, _meta, datadef, _kind = extract_request_parts_json(request)
        names = datadef.get("names") if isinstance(datadef, dict) else None
        response = copy.deepcopy(request)
        meta = response.setdefault("meta", {})
        tags = meta.setdefault("tags", {})
        if callable(getattr(self._component, "tags", None)):
            tags.update(self._component.tags())
        tags["outlierScore"] = _plain(self._component.score(features, names))
        if callable(getattr(self._component, "metrics", None)):
            meta["metrics"] = list(meta.get("metrics", [])) + list(self._component.metrics())
        return response
