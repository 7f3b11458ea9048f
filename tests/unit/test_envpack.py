"""The packed environment of a save-artifacts stream, round-tripped through a real tar stream the way
s2i and the build command unpack it (outer tar extracted to a folder, then restored by assemble)."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from builders import envpack


def make_tree(root: Path) -> None:
    package = root / "lib" / "python3.11" / "site-packages" / "pkg"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 1\n")
    (package / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\x00bytecode")
    (package / "data.bin").write_bytes(os.urandom(300_000))  # incompressible: several parts
    os.utime(package / "__init__.py", (1_600_000_000, 1_600_000_000))
    (root / "bin").mkdir()
    (root / "bin" / "tool").write_text("#!/bin/sh\n")
    (root / "bin" / "tool").chmod(0o775)
    (root / "bin" / "link").symlink_to("tool")


def tree(root: Path) -> dict[str, tuple[str, bytes, int]]:
    """Every path under root: its kind, content (or link target) and modification time."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = ("link", os.readlink(path).encode(), 0)
        elif path.is_file():
            found[name] = ("file", path.read_bytes(), int(path.stat().st_mtime))
        else:
            found[name] = ("dir", b"", 0)
    return found


def unpack_outer(stream: bytes, folder: Path) -> None:
    """What s2i does with save-artifacts' stdout: a plain tar stream, extracted to a folder."""
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=stream, check=True)


@pytest.mark.parametrize("text", [True, False])
def test_round_trip_keeps_files_links_and_times(tmp_path: Path, text: bool) -> None:
    source, restored = tmp_path / "before", tmp_path / "after"
    make_tree(source)
    restored.mkdir()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w|") as tar:
        envpack.write(tar, source, ["lib/python3.11/site-packages/pkg", "bin/tool", "bin/link"], text,
                      part_size=100_000)  # fmt: skip
    unpack_outer(out.getvalue(), tmp_path / "artifacts")
    parts = envpack.parts_in(tmp_path / "artifacts")
    assert len(parts) >= 3
    assert all(p.name.endswith(".b64") == text for p in parts)
    if text:  # what the Docker json-file log driver can store as it is
        assert all(p.read_bytes().isascii() for p in parts)

    envpack.read(tmp_path / "artifacts", restored)

    assert tree(restored) == tree(source)
    assert envpack.parts_in(tmp_path / "artifacts") == []  # deleted: they would be committed


def test_nothing_to_pack_adds_nothing(tmp_path: Path) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w|") as tar:
        envpack.write(tar, tmp_path, [], text=True)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert tar.getnames() == []


def test_parts_are_raw_bytes_only_into_a_plain_file(tmp_path: Path) -> None:
    with (tmp_path / "stream.tar").open("wb") as plain:
        assert envpack.is_plain_file(plain)
    assert not envpack.is_plain_file(io.BytesIO())
    read, write = os.pipe()
    with os.fdopen(write, "wb") as pipe:
        assert not envpack.is_plain_file(pipe)
    os.close(read)
