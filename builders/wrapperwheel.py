"""seldon-core's wheel (builders/wrapper.py names the release), rebuilt for the stack this builder tests.

    python -m builders.wrapperwheel WRAPPER_REQUIREMENTS OUT_DIR [ORIGINAL_WHEEL]

The published wheel declares the releases that were current in 2023 (numpy<2, protobuf<4,
gunicorn<20.2, Flask<3, werkzeug<2.3, urllib3<1.27, cryptography<41.1), and its generated protobuf
modules need protobuf 3. Its code runs on today's releases once those modules are generated again. The
rebuilt wheel:

- has each `*_pb2.py`, `*_pb2_grpc.py` and `*_pb2.pyi` of the original generated again from the `.proto`
  files the wheel ships, by the protoc of the grpcio-tools this runs with (so for the protobuf in
  use), under the same descriptor names as before, with imports given their `seldon_core.proto.` prefix;
- carries the few source edits of builders/wrapperpatches.py (each explained there; an edit whose
  upstream text is not found stops the rebuild);
- leaves out the top-level `tests` package the published wheel installs into site-packages (seldon-core's
  own unit tests: `make test` runs them from the sdist, tests/unit/test_upstream_suite.py);
- declares the requirements of wrapper-requirements.txt (what this builder tests) instead of the 2023
  pins;
- is version wrapper.VERSION (RELEASE+s2i): `seldon-core==RELEASE` still matches it (a local label is
  ignored by `==`), and a resolver that sees it next to the index's RELEASE takes it, since it sorts
  higher.

Without ORIGINAL_WHEEL the published wheel is downloaded by name with pip (hash-checked either way).
Run at image build in a stage of its own (Dockerfile.python3) and by `make venv`; needs grpcio-tools
and packaging (builders/protoc-requirements.txt).
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
import tempfile
import zipfile
from importlib import resources
from pathlib import Path, PurePosixPath

from builders import wrapper
from builders.wrapperpatches import patch

NAME = "seldon_core"
PROTO_ROOT = PurePosixPath("seldon_core/proto")
# The TensorFlow messages keep TensorFlow's own descriptor names, so that where TensorFlow is installed
# its modules stand in for these (seldon_core/proto/tensorflow/core/framework/__init__.py arranges it);
# seldon-core's own file keeps the name the original registered ("proto/prediction.proto").
_GENERATED = re.compile(r"_pb2(_grpc)?\.pyi?$")
# The published wheel's own unit tests, installed as a top-level `tests` package: left out.
_UPSTREAM_TESTS = "tests/"


def descriptor_name(path: PurePosixPath) -> PurePosixPath:
    """`seldon_core/proto/prediction.proto` -> `proto/prediction.proto`;
    `seldon_core/proto/tensorflow/core/framework/tensor.proto` -> `tensorflow/core/framework/tensor.proto`."""
    relative = path.relative_to(PROTO_ROOT)
    if relative.parts[0] == "tensorflow":
        return relative
    return path.relative_to(PROTO_ROOT.parent)


def fix_imports(source: str, packages: dict[str, str]) -> str:
    """Generated code imports its sibling modules by descriptor path (`from proto import
    prediction_pb2`); inside the wheel they live under seldon_core (`from seldon_core.proto import ...`)."""

    def replace(match: re.Match[str]) -> str:
        package = packages.get(match[2])
        return f"{match[1]}{package} import " if package else match[0]

    return re.sub(r"^(\s*from )([\w.]+) import ", replace, source, flags=re.MULTILINE)


def metadata(original: str, requirements: list[str]) -> str:
    """METADATA with the new version and `Requires-Dist` lines; the extras' lines stay."""
    head, _, body = original.partition("\n\n")
    lines = []
    for line in head.splitlines():
        if line.startswith("Version:"):
            line = f"Version: {wrapper.VERSION}"
        elif line.startswith("Requires-Dist:") and "extra ==" not in line:
            continue
        lines.append(line)
    lines += [f"Requires-Dist: {requirement}" for requirement in requirements]
    return "\n".join(lines) + "\n\n" + body


def requirements(text: str) -> list[str]:
    """The requirement lines of wrapper-requirements.txt, but seldon-core itself; comments dropped."""
    found = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not re.match(r"seldon[-_]core\b", line, re.IGNORECASE):
            found.append(line)
    return found


def record(files: dict[str, bytes], record_path: str) -> bytes:
    lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(data)}")
    lines.append(f"{record_path},,")
    return ("\n".join(lines) + "\n").encode()


def generate(protos: dict[str, bytes], out: Path) -> None:
    """protoc (grpcio-tools') over the .proto files, laid out under their descriptor names."""
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp)
        names = []
        for path, data in protos.items():
            name = descriptor_name(PurePosixPath(path))
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes(data)
            names.append(str(name))
        include = str(resources.files("grpc_tools") / "_proto")  # google/protobuf/*.proto
        argv = ["protoc", "-I", str(source), "-I", include, f"--python_out={out}", f"--pyi_out={out}"]
        argv += [f"--grpc_python_out={out}", *names]
        if protoc.main(argv) != 0:
            raise SystemExit(f"protoc failed on {', '.join(names)}")


def download(dest: Path, artifact: wrapper.Artifact = wrapper.WHEEL) -> Path:
    """The published file, fetched by name with this interpreter's pip (the index it is configured
    with) and checked against its sha256."""
    binary = ["--only-binary", ":all:"] if artifact.filename.endswith(".whl") else ["--no-binary", ":all:"]
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-cache-dir", *binary]
    subprocess.run([*argv, "--dest", str(dest), wrapper.REQUIREMENT], check=True)
    return verified(dest / artifact.filename, artifact)


def verified(path: Path, artifact: wrapper.Artifact) -> Path:
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "(missing)"
    if digest != artifact.sha256:
        raise SystemExit(f"{path} has sha256 {digest}, not the published {artifact.sha256}")
    return path


def rebuild(original: Path, requirements_file: Path, out_dir: Path) -> Path:
    verified(original, wrapper.WHEEL)
    with zipfile.ZipFile(original) as wheel:
        files = {info.filename: wheel.read(info) for info in wheel.infolist() if not info.is_dir()}
    files = patch({path: data for path, data in files.items() if not path.startswith(_UPSTREAM_TESTS)})
    old_info = f"{NAME}-{wrapper.RELEASE}.dist-info"
    new_info = f"{NAME}-{wrapper.VERSION}.dist-info"
    protos = {path: data for path, data in files.items() if path.endswith(".proto")}
    # descriptor package (`proto`, `tensorflow.core.framework`) -> wheel package
    packages = {
        str(descriptor_name(PurePosixPath(path)).parent).replace("/", "."): str(
            PurePosixPath(path).parent
        ).replace("/", ".")
        for path in protos
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        generate(protos, out)
        rebuilt: dict[str, bytes] = {}
        for path, data in files.items():
            if path.startswith(old_info + "/"):
                continue
            if path.startswith(str(PROTO_ROOT)) and _GENERATED.search(path):
                fresh = out / descriptor_name(PurePosixPath(path))
                if not fresh.is_file():
                    raise SystemExit(f"protoc did not generate {path} again")
                data = fix_imports(fresh.read_text(encoding="utf-8"), packages).encode()
            rebuilt[path] = data
    text = requirements_file.read_text(encoding="utf-8")
    for path, data in files.items():
        if path.startswith(old_info + "/") and not path.endswith("/RECORD"):
            moved = new_info + path[len(old_info) :]
            if path.endswith("/METADATA"):
                data = metadata(data.decode(), requirements(text)).encode()
            elif path.endswith("/top_level.txt"):
                data = b"".join(line + b"\n" for line in data.split() if line != b"tests")
            rebuilt[moved] = data
    rebuilt[f"{new_info}/RECORD"] = record(rebuilt, f"{new_info}/RECORD")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{NAME}-{wrapper.VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as wheel:
        for path, data in rebuilt.items():
            # one fixed timestamp: the same inputs make the same wheel, byte for byte
            info = zipfile.ZipInfo(path, date_time=(2023, 1, 1, 0, 0, 0))
            wheel.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return target


def main(argv: list[str]) -> Path:
    if len(argv) not in (2, 3):
        raise SystemExit(__doc__)
    requirements_file, out_dir = Path(argv[0]), Path(argv[1])
    if len(argv) == 3:
        return rebuild(Path(argv[2]), requirements_file, out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        return rebuild(download(Path(tmp)), requirements_file, out_dir)


if __name__ == "__main__":
    print(main(sys.argv[1:]))
