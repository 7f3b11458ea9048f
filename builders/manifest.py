"""The manifest: what assemble decided, written into the image for `run` to read (no second parsing).

It lives at /opt/app-root/s2i-manifest.json. `SCHEMA` changes whenever a field changes meaning or
goes away; `run` refuses a manifest of another schema with a message that says which builder wrote
it, instead of failing somewhere inside the server.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from builders.errors import ConfigError

SCHEMA = 2


@dataclass(frozen=True)
class Conda:
    prefix: str
    app_environment: bool  # the conda environment is the application's (python pinned)


@dataclass(frozen=True)
class Manifest:
    builder_version: str
    model_name: str  # MODEL_NAME as configured
    service_type: str  # SERVICE_TYPE as configured
    wrapper_service_type: str  # what seldon-core-microservice's --service-type accepts
    payload_passthrough: bool
    persistence: bool
    score_adapter: bool  # an OUTLIER_DETECTOR with only score(), served through the adapter
    conda: Conda | None = None
    schema: int = SCHEMA

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")


def read(path: Path) -> Manifest:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path} is missing: this image was not assembled by the builder",
            "Build the image with `s2i build <src> <builder> <image>` before running it.",
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is damaged: {exc}", "Build the image again.") from None
    if data.get("schema", 1) != SCHEMA:
        raise ConfigError(
            f"{path} was written by builder {data.get('builder_version', 'unknown')} (manifest schema "
            f"{data.get('schema', 1)}), and this run script reads schema {SCHEMA}",
            "Build the image again with one builder image: assemble and run must come from the same builder.",
        )
    known = {f.name for f in fields(Manifest)}
    conda = data.get("conda")
    values = {k: v for k, v in data.items() if k in known and k != "conda"}
    return Manifest(**values, conda=Conda(**conda) if conda else None)
