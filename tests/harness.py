"""Driving Docker for the tests, the demo and the benchmark: build with the s2i contract, serve, call.

Every container runs with `--network host` (these machines have no bridge) on ports picked free on
127.0.0.1, so tests can run side by side and traffic never leaves the machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TEMPLATES = ROOT / "templates"
VERSION = (ROOT / "VERSION").read_text().strip()
PYTHON3_BUILDER = os.environ.get("PYTHON_IMAGE", f"seldonio/seldon-core-s2i-python3:{VERSION}")
ONNX_BUILDER = os.environ.get("ONNX_IMAGE", f"seldonio/seldon-core-s2i-python3-ngraph-onnx:{VERSION}")
DOCKER = os.environ.get("DOCKER", "docker")


def builder_image(minor: str) -> str:
    """The builder of one Python, named as the Makefile names it: PYTHON_IMAGE's repository plus the
    minor version (seldon-core-s2i-python3 -> seldon-core-s2i-python313), PYTHON_IMAGE's tag."""
    repository, tag = PYTHON3_BUILDER.rsplit(":", 1)
    return f"{repository}{minor.split('.', 1)[1]}:{tag}"


def docker(
    *args: str, check: bool = True, input: bytes | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([DOCKER, *args], capture_output=True, check=check, input=input, timeout=timeout)


def docker_available() -> str | None:
    """None when an engine answers, else why not."""
    if shutil.which(DOCKER) is None:
        return f"no `{DOCKER}` command"
    result = subprocess.run([DOCKER, "info"], capture_output=True, text=True)
    return None if result.returncode == 0 else result.stderr.strip().splitlines()[-1]


def s2i_usage(result: subprocess.CompletedProcess[bytes]) -> str:
    """What `s2i usage` shows of a usage script's output: stdout with each line's leading whitespace
    trimmed (s2i's own rule), then stderr as it came."""
    stdout = "".join(line.lstrip(" \t") for line in result.stdout.decode().splitlines(keepends=True))
    return stdout + result.stderr.decode()


def image_exists(image: str) -> bool:
    return docker("image", "inspect", image, check=False).returncode == 0


def unique_tag(stem: str) -> str:
    return f"s2i-test-{stem}:{uuid.uuid4().hex[:8]}"


@dataclass
class BuildResult:
    returncode: int
    log: str
    seconds: float
    image: str


def build(
    source: Path,
    image: str,
    builder: str = PYTHON3_BUILDER,
    env: Mapping[str, str] | None = None,
    inject: Sequence[str] = (),
    incremental: bool = False,
    network: str = "host",
) -> BuildResult:
    """`python -m builders.host`, the s2i docker-mode contract; returns exit code and whole log."""
    argv = [sys.executable, "-m", "builders.host", str(source), builder, image, "--network", network]
    for key, value in (env or {}).items():
        argv += ["-e", f"{key}={value}"]
    for item in inject:
        argv += ["-i", item]
    if incremental:
        argv.append("--incremental")
    started = time.monotonic()
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    return BuildResult(result.returncode, result.stdout + result.stderr, time.monotonic() - started, image)


def build_ok(source: Path, image: str, **kwargs: object) -> BuildResult:
    result = build(source, image, **kwargs)  # type: ignore[arg-type]
    assert result.returncode == 0, f"build of {source} failed:\n{result.log}"
    return result


def masked(log: str) -> str:
    """A build log with what changes from run to run masked: times, hashes, ids, tags, ports, the
    builder's version and Python's patch release."""
    rules = [
        (r"\d+(\.\d+)?(ms|s)\b", "<T>"),
        (r"\b[0-9a-f]{12,64}\b", "<HASH>"),
        (r"s2i-test-[\w.-]+:[0-9a-f]{8}", "<IMAGE>"),
        (r"builder \S+\)", "builder <VERSION>)"),
        (r"\b(Python 3\.\d+)\.\d+\b", r"\1.<PATCH>"),  # the suite's patch release moves
        (r"127\.0\.0\.1:\d+", "127.0.0.1:<PORT>"),  # the tests' private index
    ]
    for pattern, replacement in rules:
        log = re.sub(pattern, replacement, log)
    return log


def assert_golden(log: str, golden: Path) -> None:
    """The whole log, masked, equals the pinned one (UPDATE_GOLDEN=1 rewrites it after a change that
    is meant: the diff shows in review). What the user reads at 2 a.m. changes only on purpose."""
    log = masked(log)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(log, encoding="utf-8")
    assert log == golden.read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    container: str
    http: int
    grpc: int
    metrics: int

    def url(self, path: str, port: int | None = None) -> str:
        return f"http://127.0.0.1:{port or self.http}{path}"

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return requests.post(self.url(path), timeout=30, **kwargs)  # type: ignore[arg-type]

    def logs(self) -> str:
        result = docker("logs", self.container, check=False)
        return (result.stdout + result.stderr).decode(errors="replace")


@contextlib.contextmanager
def serve(
    image: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 90,
    user: str | None = None,
    docker_args: Sequence[str] = (),
    wait_for: str = "/health/ping",
    poll: float = 0.25,
) -> Iterator[Server]:
    """Run the image on free ports and wait until `wait_for` answers 200, asking every `poll`
    seconds; always removes it."""
    server = Server(f"s2i-test-{uuid.uuid4().hex[:10]}", free_port(), free_port(), free_port())
    ports = {
        "PREDICTIVE_UNIT_HTTP_SERVICE_PORT": str(server.http),
        "PREDICTIVE_UNIT_GRPC_SERVICE_PORT": str(server.grpc),
        "PREDICTIVE_UNIT_METRICS_SERVICE_PORT": str(server.metrics),
    }
    argv = ["run", "-d", "--name", server.container, "--network", "host"]
    if user:
        argv += ["--user", user]
    argv += list(docker_args)
    for key, value in {**ports, **(env or {})}.items():
        argv += ["-e", f"{key}={value}"]
    docker(*argv, image)
    try:
        wait_ready(server, timeout, wait_for, poll)
        yield server
    finally:
        docker("rm", "--force", server.container, check=False)


def wait_ready(server: Server, timeout: float, path: str = "/health/ping", poll: float = 0.25) -> float:
    started = checked = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if requests.get(server.url(path), timeout=2).status_code == 200:
                return time.monotonic() - started
        except (requests.ConnectionError, requests.Timeout):  # a model still loading holds the request
            pass
        if time.monotonic() - checked >= 0.25:  # `docker inspect` takes longer than a fine poll
            checked = time.monotonic()
            fields = "{{.State.Running}} exit code {{.State.ExitCode}}, OOM-killed {{.State.OOMKilled}}"
            state = docker("inspect", "-f", fields, server.container, check=False).stdout.decode().strip()
            if state.startswith("false "):
                raise AssertionError(
                    f"container exited before it was ready ({state.removeprefix('false ')}):\n{server.logs()}"
                )
        time.sleep(poll)
    raise AssertionError(f"not ready after {timeout}s:\n{server.logs()}")


def site_packages(image: str) -> str:
    """The application environment's site-packages folder (lib/python3.X/site-packages)."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return docker("run", "--rm", image, "/opt/app-root/bin/python", "-c", code).stdout.decode().strip()


def make_wheel(directory: Path, name: str, version: str, source: str, requires: Sequence[str] = ()) -> Path:
    """A real, minimal pure-Python wheel: module `name` with `source` as its __init__.py, depending
    on `requires` (Requires-Dist)."""
    import base64
    import hashlib
    import zipfile

    dist = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    files = {
        f"{name}/__init__.py": source,
        f"{dist}/METADATA": metadata,
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def layer_paths(image: str) -> dict[str, list[str]]:
    """Every path in every layer of an image (from `docker save`), by layer."""
    import io
    import tarfile

    saved = docker("save", image).stdout
    result: dict[str, list[str]] = {}
    with tarfile.open(fileobj=io.BytesIO(saved)) as outer:
        for member in outer.getmembers():
            if member.name.endswith("layer.tar") or member.name.startswith("blobs/"):
                data = outer.extractfile(member)
                if data is None:
                    continue
                try:
                    with tarfile.open(fileobj=io.BytesIO(data.read())) as layer:
                        result[member.name] = layer.getnames()
                except tarfile.ReadError:
                    continue  # a config or manifest blob, not a layer
    return result


def flat(values: object) -> list[float]:
    """Nested lists of numbers, flattened (pytest.approx compares flat sequences only)."""
    if isinstance(values, list):
        return [x for item in values for x in flat(item)]
    return [float(values)]  # type: ignore[arg-type]


def files_containing(image: str, *needles: bytes) -> dict[bytes, list[str]]:
    """For each needle, every file of every layer of `image` whose name or contents hold it, plus any
    non-layer blob (the image configuration) that does. Streams `docker save` through a temporary file."""
    import tarfile
    import tempfile

    hits: dict[bytes, list[str]] = {needle: [] for needle in needles}

    def search(where: str, data: bytes) -> None:
        for needle in needles:
            if needle in data:
                hits[needle].append(where)

    with tempfile.TemporaryFile() as saved:
        subprocess.run([DOCKER, "save", image], stdout=saved, check=True)
        saved.seek(0)
        with tarfile.open(fileobj=saved) as outer:
            for member in outer.getmembers():
                data = outer.extractfile(member) if member.isfile() else None
                if data is None:
                    continue
                try:
                    layer = tarfile.open(fileobj=data)
                except tarfile.ReadError:
                    data.seek(0)
                    search(member.name, data.read())
                    continue
                with layer:
                    for entry in layer:
                        content = layer.extractfile(entry) if entry.isfile() else None
                        search(f"{member.name}:{entry.name}", entry.name.encode())
                        if content is not None:
                            search(f"{member.name}:{entry.name}", content.read())
    return hits


@dataclass
class Index:
    """A PEP 503 simple index behind HTTP Basic auth, on 127.0.0.1."""

    url: str  # http://127.0.0.1:PORT/simple (no credentials)
    user: str | None  # None: the token alone is the user part (`http://TOKEN@host`), as Gemfury's
    token: str
    authorized: list[str]  # paths served with the right credentials

    def url_with_credentials(self) -> str:
        userinfo = f"{self.user}:{self.token}" if self.user else self.token
        return self.url.replace("http://", f"http://{userinfo}@")


@contextlib.contextmanager
def private_index(
    wheels: Sequence[Path] | Path, user: str | None = "builder", token: str | None = None
) -> Iterator[Index]:
    """Serve `wheels` as a simple index; every request without `user:token` gets 401. With `user=None`
    the token alone is the credential: Basic auth of `token:`, what pip and uv send for `TOKEN@host`.
    Given a folder, its wheels are listed anew on every request, so a test can publish a newer
    release later."""
    import base64
    import hashlib
    import html
    import http.server
    import re
    import threading

    token = token or f"tok{uuid.uuid4().hex}"
    expected = "Basic " + base64.b64encode(f"{user or token}:{token if user else ''}".encode()).decode()
    index = Index("", user, token, [])

    def published() -> tuple[dict[str, list[Path]], dict[str, Path]]:
        listed = sorted(wheels.glob("*.whl")) if isinstance(wheels, Path) else list(wheels)
        by_project: dict[str, list[Path]] = {}
        for wheel in listed:
            project = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
            by_project.setdefault(project, []).append(wheel)
        return by_project, {w.name: w for w in listed}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self.respond(send_body=False)

        def do_GET(self) -> None:
            self.respond(send_body=True)

        def respond(self, send_body: bool) -> None:
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="private"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if send_body:
                index.authorized.append(self.path)
            by_project, files = published()
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            body: bytes | None = None
            kind = "text/html"
            if parts == ["simple"]:
                body = "".join(f'<a href="/simple/{p}/">{p}</a>\n' for p in by_project).encode()
            elif len(parts) == 2 and parts[0] == "simple" and parts[1] in by_project:
                links = []
                for wheel in by_project[parts[1]]:
                    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
                    links.append(
                        f'<a href="/files/{html.escape(wheel.name)}#sha256={digest}">{wheel.name}</a>'
                    )
                body = ("<html><body>\n" + "\n".join(links) + "\n</body></html>\n").encode()
            elif len(parts) == 2 and parts[0] == "files" and parts[1] in files:
                body, kind = files[parts[1]].read_bytes(), "application/octet-stream"
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    index.url = f"http://127.0.0.1:{server.server_address[1]}/simple"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()
