"""`python -m builders build SRC BUILDER IMAGE`: the s2i build contract, for machines without s2i.

It drives the builder image exactly as `s2i build` does in docker mode: create a container from the
builder running `assemble` as the image's user, upload the source to /tmp/src (owned by 1001:0) and any
previous artifacts to /tmp/artifacts as a tar stream, start it, and commit it with the `run` script as
CMD. `.s2i/environment` and `-e` values become the container's (and so the image's) environment.

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
stacked, it falls back to s2i's way: save-artifacts from the previous image, restored by assemble.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from builders import config, proc
from builders.errors import BuilderError, ConfigError, StepError

SCRIPTS_LABEL = "io.openshift.s2i.scripts-url"
DESTINATION_LABEL = "io.openshift.s2i.destination"
DEFAULT_SCRIPTS = "/usr/libexec/s2i"  # s2i's own default, used when the label is absent
UPLOAD_UID, UPLOAD_GID = 1001, 0
ARTIFACTS_TAR = "s2i-artifacts.tar"
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
    network: str = "host"
    docker: str = "docker"
    labels: dict[str, str] = field(default_factory=dict)


_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@:\s]+):(?P<password>[^/@\s]*)@(?P<host>[^/:@\s]+)"
)
SECRETS = "/opt/s2i/secrets"  # where assemble looks for an injected netrc or pip.conf


def without_credentials(value: str) -> str:
    """`value` with `user:password@` removed from every URL in it."""
    return _USERINFO.sub(r"\g<scheme>\g<host>", value)


def netrc_for(env: dict[str, str]) -> str:
    """netrc lines for the `user:password@` of every URL in the build variables.

    s2i keeps every -e value in the output image (its configuration, and the committed container's);
    this command instead hands such a password to assemble as an injected netrc, the route that leaves
    nothing in the image, and gives assemble the URL without it.
    """
    lines = []
    for value in env.values():
        for match in _USERINFO.finditer(value):
            user, password = unquote(match["user"]), unquote(match["password"])
            lines.append(f"machine {match['host']} login {user} password {password}\n")
    return "".join(dict.fromkeys(lines))


def _secrets_with_netrc(
    injections: tuple[tuple[Path, str], ...], folder: Path, netrc: str
) -> tuple[tuple[Path, str], ...]:
    """The injections, with SECRETS replaced by `folder`: the user's own secrets folder (if any)
    copied there, its netrc (or .netrc) extended with `netrc`."""
    others = []
    for host, dest in injections:
        if dest.rstrip("/") == SECRETS:
            shutil.copytree(host, folder, dirs_exist_ok=True)
        else:
            others.append((host, dest))
    existing = next((folder / n for n in ("netrc", ".netrc") if (folder / n).is_file()), None)
    before = existing.read_text(encoding="utf-8").rstrip("\n") + "\n" if existing else ""
    (folder / "netrc").write_text(before + netrc, encoding="utf-8")
    for path in (folder, *folder.iterdir()):
        try:  # readable by the assemble user only
            os.chown(path, UPLOAD_UID, UPLOAD_GID)
            path.chmod(0o750 if path.is_dir() else 0o640)
        except PermissionError:  # not root: the folder is private by name only, for the build
            path.chmod(0o755 if path.is_dir() else 0o644)
    return (*others, (folder, SECRETS))


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


def source_tar(source: Path, artifacts: bytes | None) -> bytes:
    """The upload: src/... owned by 1001:0, as s2i's tar upload does, and the previous image's
    save-artifacts stream as one file (unpacked at /tmp/artifacts before assemble runs)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def owned(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
            if info.name == "src/.git" or info.name.startswith("src/.git/"):
                return None  # a checkout's history is not part of the application
            info.uid, info.gid, info.uname, info.gname = UPLOAD_UID, UPLOAD_GID, "", ""
            info.mode |= 0o060 if not info.isdir() else 0o070
            return info

        tar.add(source, arcname="src", filter=owned)
        if artifacts is not None:
            info = tarfile.TarInfo(ARTIFACTS_TAR)
            info.size, info.mode, info.uid, info.gid = len(artifacts), 0o660, UPLOAD_UID, UPLOAD_GID
            tar.addfile(info, io.BytesIO(artifacts))
    return buffer.getvalue()


def save_artifacts(docker: str, image: str, scripts: str, network: str) -> bytes | None:
    """Run the previous image's save-artifacts into a file and copy it out with `docker cp`: the
    Docker API's archive endpoint is several times faster than a container's attached stdout for
    the hundreds of megabytes an environment can weigh. (s2i's --as-dockerfile mode also
    redirects save-artifacts to a file.) A failure means a clean build, as with s2i."""
    container = proc.output(
        [docker, "create", "--network", network, "--entrypoint", "/bin/sh", image,
         "-c", f"{scripts}/save-artifacts > /tmp/{ARTIFACTS_TAR}"]
    ).decode().strip()  # fmt: skip
    try:
        proc.run([docker, "start", "--attach", container], quiet=True)
        outer = proc.output([docker, "cp", f"{container}:/tmp/{ARTIFACTS_TAR}", "-"])
        with tarfile.open(fileobj=io.BytesIO(outer)) as tar:
            member = tar.extractfile(ARTIFACTS_TAR)
            return member.read() if member else None
    except (StepError, tarfile.TarError, KeyError) as exc:
        proc.log(f"     WARNING save-artifacts failed ({exc}); building from scratch")
        return None
    finally:
        proc.output([docker, "rm", "--force", container])


def _inspect(docker: str, image: str) -> dict[str, Any] | None:
    try:
        raw = proc.output([docker, "image", "inspect", image])
    except BuilderError:
        return None
    data: list[dict[str, Any]] = json.loads(raw)
    return data[0]


def _scripts_dir(builder_info: dict[str, Any]) -> str:
    labels = (builder_info.get("Config") or {}).get("Labels") or {}
    url = str(labels.get(SCRIPTS_LABEL, "")) or f"image://{DEFAULT_SCRIPTS}"
    if not url.startswith("image://"):
        raise ConfigError(
            f"builder label {SCRIPTS_LABEL}={url!r} is not an image:// URL",
            "This command runs scripts from inside the builder image only.",
        )
    return url[len("image://") :]


def build(request: BuildRequest) -> None:
    source = request.source.resolve()
    if not source.is_dir():
        raise ConfigError(f"source folder {source} does not exist", "Pass the folder holding your model.")
    env = {**config.read_env_file(source), **dict(request.env)}
    netrc = netrc_for(env)
    if not netrc:
        return _build(request, source, env)
    proc.log(
        "---> A build variable holds a URL with a password: assemble gets it from an injected netrc "
        f"at {SECRETS}/netrc instead, and the image keeps the URL without it"
    )
    with tempfile.TemporaryDirectory(prefix="s2i-secrets-") as folder:
        injections = _secrets_with_netrc(request.injections, Path(folder), netrc)
        clean = {key: without_credentials(value) for key, value in env.items()}
        _build(replace(request, injections=injections), source, clean)


def _build(request: BuildRequest, source: Path, env: dict[str, str]) -> None:
    docker = request.docker
    builder_info = _inspect(docker, request.builder)
    if builder_info is None:
        raise ConfigError(
            f"builder image {request.builder} is not present in the Docker engine",
            "Build it with `make images`, or pull it.",
        )
    scripts = _scripts_dir(builder_info)
    previous = _inspect(docker, request.image) if request.incremental else None

    if previous is not None:
        why_not = _why_not_in_place(previous, builder_info, env)
        if why_not is None:
            proc.log(f"---> Rebuilding {request.image} in place: its dependencies are reused if unchanged")
            command = [request.image, f"{scripts}/assemble", "--in-place"]
            status = _assemble(request, source, env, command, None, builder_info, scripts)
            if status == 0:
                return
            if status != IN_PLACE_DECLINED:
                raise AssembleFailed(request.image, status)
        else:
            proc.log(f"---> Not rebuilding in place: {why_not}")

    artifacts = None
    if previous is not None:
        with proc.step(f"Saving artifacts from the previous {request.image}"):
            artifacts = save_artifacts(docker, request.image, scripts, request.network)
            proc.log(f"     {len(artifacts or b'')} bytes")
    if artifacts is None:
        command = [request.builder, f"{scripts}/assemble"]
    else:  # s2i unpacks the stream at /tmp/artifacts right before assemble, as here
        unpack = f"mkdir -p /tmp/artifacts && tar -C /tmp/artifacts -xf /tmp/{ARTIFACTS_TAR}"
        command = ["--entrypoint", "/bin/sh", request.builder, "-c",
                   f"{unpack} && rm -f /tmp/{ARTIFACTS_TAR} && exec {scripts}/assemble"]  # fmt: skip
    status = _assemble(request, source, env, command, artifacts, builder_info, scripts)
    if status != 0:
        raise AssembleFailed(request.image, status)


def _why_not_in_place(
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


def _assemble(
    request: BuildRequest,
    source: Path,
    env: dict[str, str],
    command: list[str],
    artifacts: bytes | None,
    builder_info: dict[str, Any],
    scripts: str,
) -> int:
    """Create the assemble container (`command`: image and arguments), upload, run it and, when it
    succeeds, commit it as request.image. Returns assemble's exit status; the container never stays."""
    docker = request.docker
    create = [docker, "create", "--network", request.network, "--user", f"{UPLOAD_UID}"]
    create += ["--label", f"{BUILD_LABEL}={request.image}"]
    for key, value in env.items():
        create += ["--env", f"{key}={value}"]
    for host, dest in request.injections:
        create += ["--volume", f"{host}:{dest}:ro"]
    container = proc.output(create + command).decode().strip()
    try:
        proc.output([docker, "cp", "-", f"{container}:/tmp"], stdin=source_tar(source, artifacts))
        started = time.monotonic()
        try:
            proc.run([docker, "start", "--attach", container], prefix="")
        except StepError:
            pass  # the status below is what counts; assemble already printed why
        status = int(proc.output([docker, "wait", container]).decode().strip() or "1")
        if status != 0:
            return status
        entrypoint = json.dumps(builder_info["Config"].get("Entrypoint") or [])
        changes = [f'CMD ["{scripts}/run"]', f"USER {UPLOAD_UID}", f"ENTRYPOINT {entrypoint}"]
        labels = {
            "io.openshift.s2i.build.image": request.builder,
            "io.openshift.s2i.build.source-location": str(source),
            BUILDER_ID_LABEL: builder_info["Id"],
            **request.labels,
        }
        changes += [f"LABEL {key}={json.dumps(value)}" for key, value in labels.items()]
        commit = [docker, "commit"]
        for change in changes:
            commit += ["--change", change]
        proc.output(commit + [container, request.image])
        proc.log(f"---> Built {request.image} in {time.monotonic() - started:.1f}s")
        return 0
    finally:
        proc.output([docker, "rm", "--force", "--volumes", container])


def run_cli(
    source: str,
    builder: str,
    image: str,
    env: Sequence[str],
    inject: Sequence[str],
    incremental: bool,
    network: str,
) -> None:
    build(
        BuildRequest(
            source=Path(source),
            builder=builder,
            image=image,
            env=parse_env_args(env),
            injections=parse_injections(inject),
            incremental=incremental,
            network=network,
            docker=os.environ.get("DOCKER", "docker"),
        )
    )
