from __future__ import annotations

from pathlib import Path

from builders import __version__, usage


def test_usage_names_the_build_command_every_variable_and_the_ports() -> None:
    text = usage.text(python="3.13.5")  # the default Python's image carries the python3 name too
    assert f"s2i build ./my-model seldonio/seldon-core-s2i-python3:{__version__} my-model:0.1" in text
    for variable in (
        "MODEL_NAME", "SERVICE_TYPE", "PAYLOAD_PASSTHROUGH", "EXTRA_INDEX_URL", "PIP_TRUSTED_HOST",
        "INSTALLER", "PERSISTENCE", "API_TYPE", "PREDICTIVE_UNIT_HTTP_SERVICE_PORT",
        "PREDICTIVE_UNIT_GRPC_SERVICE_PORT", "PREDICTIVE_UNIT_METRICS_SERVICE_PORT", "GUNICORN_WORKERS",
    ):  # fmt: skip
        assert variable in text
    assert '-d \'{"data": {"ndarray": [[1.0, 2.0, 3.0]]}}\'' in text
    assert "http://127.0.0.1:9000/api/v1.0/predictions" in text
    assert "-i ./wheels:/whl" in text
    assert "environment.yml" in text and "CONDA_PREFIX" in text


def test_usage_shows_both_protocols_with_a_curl_each() -> None:
    text = usage.text()
    assert "SELDON_S2I_V2_MODEL_NAME" in text and "inference.GRPCInferenceService" in text
    assert '"datatype": "FP64", "shape": [1, 3], "data": [1, 2, 3]}]}\'' in text
    assert "http://127.0.0.1:9000/v2/models/MyModel/infer" in text and "/v2/health/ready" in text


def test_usage_names_every_lock_format_its_fix_and_the_sbom() -> None:
    text = usage.text()
    for lock, fix in (
        ("uv.lock", "uv lock"),
        ("poetry.lock", "poetry lock"),
        ("Pipfile.lock", "pipenv lock"),
    ):
        assert lock in text and f"`{fix}`" in text
    assert "pylock.toml" in text and "requirements.txt\n  beside a lock is not installed" in text
    assert "/opt/app-root/sbom.cdx.json (image label io.seldon.s2i.sbom)" in text


def test_usage_appends_the_notes_of_derived_images(tmp_path: Path) -> None:
    assert usage.text(tmp_path) == usage.text(tmp_path / "absent")
    (tmp_path / "b.txt").write_text("second note\n")
    (tmp_path / "a.txt").write_text("first note\n")
    (tmp_path / "ignored.md").write_text("not a note\n")
    text = usage.text(tmp_path)
    assert text.endswith("\nfirst note\n\nsecond note\n")
    assert "not a note" not in text
