"""The manifest assemble writes and run reads: typed, frozen, and refused when of another schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders import manifest
from builders.errors import ConfigError


def test_round_trip(tmp_path: Path) -> None:
    written = manifest.Manifest(
        "0.1.0", "pkg.Det", "OUTLIER_DETECTOR", "OUTLIER_DETECTOR", False, False, True,
        conda=manifest.Conda("/opt/app-root/conda", True),
    )  # fmt: skip
    written.write(tmp_path / "m.json")
    assert manifest.read(tmp_path / "m.json") == written
    assert json.loads((tmp_path / "m.json").read_text())["schema"] == manifest.SCHEMA


def test_missing_and_other_schema_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is missing: this image was not assembled by the builder"):
        manifest.read(tmp_path / "absent.json")
    old = {"builder_version": "0.0.9", "model_name": "M", "service_type": "MODEL"}  # schema 1: no field
    (tmp_path / "m.json").write_text(json.dumps(old))
    with pytest.raises(ConfigError, match=r"written by builder 0\.0\.9 \(manifest schema 1\)") as caught:
        manifest.read(tmp_path / "m.json")
    assert "same builder" in caught.value.tip
