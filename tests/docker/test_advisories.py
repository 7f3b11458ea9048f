"""No Python environment of the builder images holds a release below the first fix of an advisory
listed in builders/advisories.toml (kept by hand; see its header for when it was last checked)."""

from __future__ import annotations

import pytest

from builders import deps, python_version
from tests import advisories, harness

pytestmark = pytest.mark.docker

ENVIRONMENTS = {"application": "/opt/app-root/bin/python", "builder tools": "/opt/s2i/tools/bin/python"}


def installed(image: str, python: str) -> dict[str, str]:
    uv = "/opt/s2i/tools/bin/uv"
    freeze = harness.docker("run", "--rm", image, uv, "pip", "freeze", "--python", python)
    versions = deps.locked_versions(freeze.stdout.decode())
    assert versions, f"nothing installed in {python} of {image}?"
    return versions


@pytest.mark.parametrize("environment", sorted(ENVIRONMENTS))
@pytest.mark.parametrize("builder", [*python_version.PYTHONS, "ngraph-onnx"])
def test_no_release_below_a_published_fix(
    builder: str, environment: str, python3_builder: str, onnx_builder: str
) -> None:
    """Every builder image: one per Python (python313 is also python3), and ngraph-onnx."""
    image = onnx_builder if builder == "ngraph-onnx" else harness.builder_image(builder)
    checked, listed = advisories.load()
    versions = installed(image, ENVIRONMENTS[environment])
    found = advisories.findings(versions, listed)
    assert found == [], f"{image} ({environment}), advisories checked {checked}:\n" + "\n".join(found)
    if environment == "application":
        # the stack the advisories are about is really there to be checked
        assert {"gunicorn", "werkzeug", "flask", "protobuf", "urllib3", "requests"} <= versions.keys()
