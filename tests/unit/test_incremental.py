"""save-artifacts' environment and assemble's restore, between two app roots on this machine: the
previous image's, and a fresh builder's (the Docker round trip is in tests/docker/test_incremental.py)."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

from builders import incremental
from builders.layout import Layout

SITE = "lib/python3.11/site-packages"


def builder_root(root: Path) -> None:
    """What the builder image's app environment holds before any build."""
    (root / SITE / "seldon_core").mkdir(parents=True)
    (root / SITE / "seldon_core" / "__init__.py").write_text("")
    (root / "bin").mkdir()
    (root / "bin" / "python").symlink_to("/usr/bin/python3")
    (root / "bin" / "seldon-core-microservice").write_text("#!/bin/sh\n")


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def save_and_unpack(tmp_path: Path, previous: Layout, baseline: Path) -> Path:
    """save-artifacts in the previous image, and what s2i makes of its stream: a folder."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w|") as tar:
        tar.add(previous.app_root / incremental.FINGERPRINT, arcname=incremental.FINGERPRINT)
        incremental.add_environment(tar, previous, text=True, baseline_path=baseline)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    subprocess.run(["tar", "-x", "-C", str(artifacts)], input=out.getvalue(), check=True)
    return artifacts


def test_restore_equals_the_previous_environment(tmp_path: Path) -> None:
    previous = Layout(app_root=tmp_path / "previous", conda=tmp_path / "previous" / "conda")
    builder_root(previous.app_root)
    baseline = tmp_path / "baseline.json"
    in_builder = {"site-packages": ["seldon_core"], "bin": ["python", "seldon-core-microservice"]}
    baseline.write_text(json.dumps(in_builder))
    (previous.app_root / SITE / "sklearn").mkdir()
    (previous.app_root / SITE / "sklearn" / "__init__.py").write_text("__version__ = '1.5.2'\n")
    (previous.app_root / "bin" / "sklearn-tool").write_text("#!/bin/sh\n")
    (previous.conda / "bin").mkdir(parents=True)
    (previous.conda / "bin" / "python").write_text("conda python\n")
    (previous.app_root / incremental.FINGERPRINT).write_text("abc\n")

    artifacts = save_and_unpack(tmp_path, previous, baseline)
    fresh = Layout(app_root=tmp_path / "fresh", conda=tmp_path / "fresh" / "conda", artifacts=artifacts)
    builder_root(fresh.app_root)
    assert incremental.restore(fresh, "abc")

    expected = {k: v for k, v in files(previous.app_root).items() if k != incremental.FINGERPRINT}
    assert files(fresh.app_root) == expected
    assert not artifacts.exists()  # nothing of the stream is committed with the image


def test_a_replaced_builder_package_restores_the_whole_environment(tmp_path: Path) -> None:
    previous = Layout(app_root=tmp_path / "previous")
    builder_root(previous.app_root)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"site-packages": ["seldon_core", "old"], "bin": ["python"]}))
    (previous.app_root / incremental.FINGERPRINT).write_text("abc\n")

    artifacts = save_and_unpack(tmp_path, previous, baseline)
    assert (artifacts / incremental.COMPLETE).exists()
    fresh = Layout(app_root=tmp_path / "fresh", artifacts=artifacts)
    builder_root(fresh.app_root)
    (fresh.app_root / SITE / "old").mkdir()  # in the builder, gone from the previous image
    assert incremental.restore(fresh, "abc")
    assert sorted(p.name for p in (fresh.app_root / SITE).iterdir()) == ["seldon_core"]


def test_changed_dependencies_restore_nothing_and_leave_nothing(tmp_path: Path) -> None:
    previous = Layout(app_root=tmp_path / "previous")
    builder_root(previous.app_root)
    (previous.app_root / SITE / "sklearn").mkdir()
    (previous.app_root / incremental.FINGERPRINT).write_text("abc\n")
    artifacts = save_and_unpack(tmp_path, previous, tmp_path / "no-baseline.json")
    fresh = Layout(app_root=tmp_path / "fresh", artifacts=artifacts)
    builder_root(fresh.app_root)
    assert not incremental.restore(fresh, "def")
    assert not (fresh.app_root / SITE / "sklearn").exists()
    assert not artifacts.exists()
