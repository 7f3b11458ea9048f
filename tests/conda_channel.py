"""A real conda channel, written at test time and served from 127.0.0.1 (public channels are not
reachable from the test machines).

Two `noarch: generic` packages in the `.tar.bz2` format, each with `info/index.json` and
`info/paths.json` (paths and sha256) next to its payload, and a `repodata.json` per subdir
(`noarch/` holds the packages, `linux-64/` is empty, as on any channel):

- `s2i-greeting 1.0`: `share/s2i-greeting/message.txt`, read by a model through `CONDA_PREFIX`.
- `s2i-hello 2.1`, depends on `s2i-greeting >=1.0`: `bin/s2i-hello`, a shell script printing that
  file, run by a model through `PATH`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import json
import socket
import sys
import tarfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

GREETING = "hello from a conda package"
HELLO_SCRIPT = '#!/bin/sh\necho "s2i-hello: $(cat "$CONDA_PREFIX/share/s2i-greeting/message.txt")"\n'


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    depends: tuple[str, ...]
    files: Mapping[str, tuple[bytes, int]]  # path in the prefix -> (content, mode)

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-0.tar.bz2"


PACKAGES = (
    Package("s2i-greeting", "1.0", (), {"share/s2i-greeting/message.txt": (f"{GREETING}\n".encode(), 0o644)}),
    Package("s2i-hello", "2.1", ("s2i-greeting >=1.0",), {"bin/s2i-hello": (HELLO_SCRIPT.encode(), 0o755)}),
)


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def _index(package: Package) -> dict[str, object]:
    return {
        "name": package.name,
        "version": package.version,
        "build": "0",
        "build_number": 0,
        "depends": list(package.depends),
        "subdir": "noarch",
        "noarch": "generic",
        "license": "MIT",
        "timestamp": 1_700_000_000_000,
    }


def build_package(package: Package) -> bytes:
    paths = [
        {
            "_path": path,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        for path, (data, _) in sorted(package.files.items())
    ]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:bz2") as tar:
        _add(tar, "info/index.json", json.dumps(_index(package), indent=2).encode())
        _add(tar, "info/paths.json", json.dumps({"paths": paths, "paths_version": 1}, indent=2).encode())
        _add(tar, "info/files", "".join(f"{p}\n" for p in sorted(package.files)).encode())
        for path, (data, mode) in sorted(package.files.items()):
            _add(tar, path, data, mode)
    return buffer.getvalue()


def write_channel(root: Path, packages: tuple[Package, ...] = PACKAGES) -> Path:
    """The channel folder: noarch/ with the packages and their repodata, linux-64/ empty."""
    records = {}
    (root / "noarch").mkdir(parents=True)
    for package in packages:
        data = build_package(package)
        (root / "noarch" / package.filename).write_bytes(data)
        records[package.filename] = {
            **_index(package),
            "md5": hashlib.md5(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
    for subdir, packages in (("noarch", records), ("linux-64", {})):
        (root / subdir).mkdir(exist_ok=True)
        repodata = {"info": {"subdir": subdir}, "packages": packages, "packages.conda": {}}
        (root / subdir / "repodata.json").write_text(json.dumps(repodata, indent=2))
    return root


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up early (a solve that stopped) is not an error of the channel."""
        if not isinstance(sys.exception(), ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextlib.contextmanager
def serve_channel(root: Path) -> Iterator[str]:
    """Serve the channel folder `root` on 127.0.0.1 at a free port; yields its URL."""
    with socket.socket() as sock:  # as harness.free_port(), without importing the Docker harness
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    handler = functools.partial(_QuietHandler, directory=str(root.parent))
    server = _Server(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/{root.name}"
    finally:
        server.shutdown()
        server.server_close()
