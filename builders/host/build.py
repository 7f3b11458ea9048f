"""`python -m builders.host SRC BUILDER IMAGE`: the s2i build contract, for machines without s2i.

It drives the builder image exactly as `s2i build` does in docker mode: create a container from the
builder running `assemble` as the image's user, upload the source to <destination>/src (owned by
1001:0; the destination is the builder's `io.openshift.s2i.destination` label, /tmp by default) as
a tar stream, start it, and commit it with the `run` script as CMD.
`.s2i/environment` and `-e` values become the container's (and so the image's) environment, without
the credentials in their URLs (builders.host.secrets).

Why not `docker build`: a Dockerfile cannot bring a folder in for one RUN without BuildKit's
`--mount`, and s2i's own --as-dockerfile output COPYs injected folders and deletes them in a later
layer, so they stay in the image. Here `-i DIR:DEST` is a read-only bind mount of the assemble
container: present while assemble runs, absent from the committed layer, and the user's folder cannot
be changed by the build. It also needs nothing beyond the plain Docker engine API.

`--incremental` first tries a fast path s2i does not have: assemble runs in the previous image itself
(`assemble --in-place`), which replaces the code and keeps the environment when the dependency
fingerprint is unchanged, so the new image is the previous one plus a small layer: no artifacts are
streamed out and back, and no environment is committed again. When the dependencies changed (assemble
exits 3), or the previous image came from another builder or environment, or too many code layers are
stacked, it builds cold. s2i's own route (save-artifacts streamed out of the previous image and
restored by assemble) measured slower than a cold build (docs/incremental.md), so it is not taken.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from builders import config, credentials, log
from builders.errors import ConfigError, StepError
from builders.host import secrets, upload
from builders.host.docker import Docker
from builders.host.upload import UPLOAD_UID

SCRIPTS_LABEL = "io.openshift.s2i.scripts-url"
DESTINATION_LABEL = "io.openshift.s2i.destination"
DEFAULT_SCRIPTS = "/usr/libexec/s2i"  # s2i's own defaults, used when the labels are absent
DEFAULT_DESTINATION = "/tmp"
BUILD_LABEL = "io.seldon.s2i.build.output"  # on the assemble container (and so the image)
BUILDER_ID_LABEL = "io.seldon.s2i.builder-id"  # the builder image's ID, for the in-place fast path
IN_PLACE_DECLINED = 3  # `assemble --in-place`: dependencies changed, build the usual way
MAX_STACKED_LAYERS = 8


class AssembleFailed(StepError):
    def __init__(self, image: str, status: int) -> None:
        super().__init__(
            f"assemble failed with status {status}; no image {image} was created",
            "The ERROR and TIP lines above say what to fix.",
        )
        # assemble exits 2 for bad configuration and 1 for a failed step; keep that distinction.
        self.exit_code = status if status in (1, 2) else 1


@dataclass(frozen=True)
class BuildRequest:
    source: Path
    builder: str
    image: str
    env: tuple[tuple[str, str], ...] = ()
    injections: tuple[tuple[Path, str], ...] = ()
    incremental: bool = False
    # None: Docker's own default network, as `s2i build`; `--network host` where a build needs it
    network: str | None = None
    docker: Docker = field(default_factory=Docker)


@dataclass(frozen=True)
class Builder:
    """What the build needs to know of the builder image, from its labels."""

    info: dict[str, Any]
    scripts: str
    destination: str

    @classmethod
    def of(cls, info: dict[str, Any]) -> Builder:
        labels = (info.get("Config") or {}).get("Labels") or {}
        url = str(labels.get(SCRIPTS_LABEL, "")) or f"image://{DEFAULT_SCRIPTS}"
        if not url.startswith("image://"):
            raise ConfigError(
                f"builder label {SCRIPTS_LABEL}={url!r} is not an image:// URL",
                "This command runs scripts from inside the builder image only.",
            )
        destination = str(labels.get(DESTINATION_LABEL, "")).rstrip("/") or DEFAULT_DESTINATION
        return cls(info, url[len("image://") :], destination)


def parse_env_args(values: Iterable[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise ConfigError(f"-e {value!r} is not KEY=VALUE", "Write -e MODEL_NAME=MyModel.")
        pairs.append((key, val))
    return tuple(pairs)


def parse_injections(values: Iterable[str]) -> tuple[tuple[Path, str], ...]:
    result = []
    for value in values:
        host, sep, dest = value.rpartition(":")
        if not sep or not host or not dest.startswith("/"):
            raise ConfigError(
                f"-i {value!r} is not HOST_DIR:/absolute/destination", "Write -i ./wheels:/whl."
            )
        path = Path(host).resolve()
        if not path.is_dir():
            raise ConfigError(f"-i {value!r}: {path} is not a folder", "Inject an existing folder.")
        result.append((path, dest))
    return tuple(result)


def build(request: BuildRequest) -> None:
    source = request.source.resolve()
    if not source.is_dir():
        raise ConfigError(f"source folder {source} does not exist", "Pass the folder holding your model.")
    env = {**config.read_env_file(source), **dict(request.env)}
    netrc = credentials.netrc_text(env.values())
    if not netrc:
        return _build(request, source, env)
    log.hide(credentials.secrets_of(env.values()))
    log.announce(
        "A build variable holds a URL with credentials: assemble gets it from an injected netrc "
        f"at {secrets.SECRETS}/netrc instead, and the image keeps the URL without them"
    )
    with tempfile.TemporaryDirectory(prefix="s2i-secrets-") as folder:
        injections = secrets.folder(request.injections, Path(folder), netrc)
        clean = {key: credentials.without_credentials(value) for key, value in env.items()}
        _build(replace(request, injections=injections), source, clean)


def _build(request: BuildRequest, source: Path, env: dict[str, str]) -> None:
    request.docker.check()
    info = request.docker.inspect(request.builder)
    if info is None:
        raise ConfigError(
            f"builder image {request.builder} is not present in the Docker engine",
            "Build it with `make images`, or pull it.",
        )
    builder = Builder.of(info)
    previous = request.docker.inspect(request.image) if request.incremental else None
    if previous is not None and _in_place(request, source, env, builder, previous):
        return
    status = _assemble(request, source, env, [request.builder, f"{builder.scripts}/assemble"], builder)
    if status != 0:
        raise AssembleFailed(request.image, status)


def _in_place(
    request: BuildRequest, source: Path, env: dict[str, str], builder: Builder, previous: dict[str, Any]
) -> bool:
    """The fast path: True when the previous image was rebuilt in place."""
    why_not = why_not_in_place(previous, builder.info, env)
    if why_not is not None:
        log.announce(f"Not rebuilding in place: {why_not}")
        return False
    log.announce(f"Rebuilding {request.image} in place: its dependencies are reused if unchanged")
    command = [request.image, f"{builder.scripts}/assemble", "--in-place"]
    status = _assemble(request, source, env, command, builder)
    if status not in (0, IN_PLACE_DECLINED):
        raise AssembleFailed(request.image, status)
    return status == 0


def why_not_in_place(
    previous: dict[str, Any], builder_info: dict[str, Any], env: dict[str, str]
) -> str | None:
    """The fast path of --incremental runs assemble in the previous image itself, so it is only taken
    when that image is what this build would start from: the same builder image, the same environment,
    and not too many code layers stacked on it already (each fast rebuild adds one)."""
    labels = (previous.get("Config") or {}).get("Labels") or {}
    if labels.get(BUILDER_ID_LABEL) != builder_info["Id"]:
        return "the previous image was built with another builder image"
    expected = dict(_env_pairs(builder_info), **env)
    if dict(_env_pairs(previous)) != expected:
        return "the build environment (-e or .s2i/environment) changed"
    stacked = len(previous["RootFS"]["Layers"]) - len(builder_info["RootFS"]["Layers"])
    if stacked >= MAX_STACKED_LAYERS:
        return f"{stacked} application layers are stacked already; starting again from the builder"
    return None


def _env_pairs(info: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = [item.partition("=") for item in (info.get("Config") or {}).get("Env") or []]
    return [(key, value) for key, _, value in pairs]


def _network(request: BuildRequest) -> list[str]:
    return ["--network", request.network] if request.network else []


def _assemble(
    request: BuildRequest,
    source: Path,
    env: dict[str, str],
    command: list[str],
    builder: Builder,
) -> int:
    """Create the assemble container (`command`: image and arguments), upload, run it and, when it
    succeeds, commit it as request.image. Returns assemble's exit status; the container never stays."""
    docker = request.docker
    options = [
        *_network(request),
        "--user",
        f"{UPLOAD_UID}",
        "--label",
        f"{BUILD_LABEL}={request.image}",
    ]
    for key, value in env.items():
        options += ["--env", f"{key}={value}"]
    for host, dest in request.injections:
        options += ["--volume", f"{host}:{dest}:ro"]
    container = docker.create(options, command)
    try:
        docker.upload(container, builder.destination, lambda out: upload.write(out, source))
        started = time.monotonic()
        status = docker.start(container, show_output=True)
        if status == 0:
            docker.commit(container, request.image, _changes(request, source, builder))
            log.announce(f"Built {request.image} in {time.monotonic() - started:.1f}s")
        return status
    finally:
        docker.remove(container)


def _changes(request: BuildRequest, source: Path, builder: Builder) -> list[str]:
    entrypoint = json.dumps(builder.info["Config"].get("Entrypoint") or [])
    changes = [f'CMD ["{builder.scripts}/run"]', f"USER {UPLOAD_UID}", f"ENTRYPOINT {entrypoint}"]
    labels = {
        "io.openshift.s2i.build.image": request.builder,
        "io.openshift.s2i.build.source-location": str(source),
        BUILDER_ID_LABEL: builder.info["Id"],
    }
    return changes + [f"LABEL {key}={json.dumps(value)}" for key, value in labels.items()]
