"""The deployment examples in deploy/: every probe asks a path the image answers 200 on, on its REST
port, for the model name the example sets (the V2 REST layer of the shim, called in this interpreter)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from werkzeug.test import Client

from builders.run import APP_DIR

sys.path.insert(0, str(APP_DIR))
from seldon_s2i_v2 import Served
from seldon_s2i_v2_rest import RestV2

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


class MyModel:
    def predict(self, X: Any, features_names: Any = None) -> Any:
        return X


def containers(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "containers" and isinstance(value, list):
                yield from value
            else:
                yield from containers(value)
    elif isinstance(document, list):
        for item in document:
            yield from containers(item)


@pytest.mark.parametrize("example", sorted(p.name for p in DEPLOY.glob("*.yaml")))
def test_probes_ask_paths_the_image_answers(example: str) -> None:
    documents = list(yaml.safe_load_all((DEPLOY / example).read_text()))
    found = list(containers(documents))
    assert found, example
    probed = 0
    for container in found:
        env = {e["name"]: e["value"] for e in container.get("env", [])}
        name = env.get("SELDON_S2I_V2_MODEL_NAME", "MyModel")
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}

        def not_v2(environ: Any, start_response: Any) -> list[bytes]:
            start_response("404 Not Found", [])
            return [b""]

        client = Client(RestV2(Served(MyModel(), None, "MODEL", name, False), not_v2))
        for probe in PROBES:
            if probe not in container:
                continue
            get = container[probe]["httpGet"]
            assert ports.get(get["port"], get["port"]) == 9000, (example, probe)
            assert client.get(get["path"]).status_code == 200, (example, probe, get["path"])
            probed += 1
    assert probed >= 1, example
    if example == "deployment.yaml":
        assert probed == 3  # startup, liveness and readiness
