"""The wrapper no longer drags an application's packages back: seldon-core's 2023 metadata pins
(numpy<2, protobuf<4, Flask<3, werkzeug<2.3, urllib3<1.27, gunicorn<20.2) are gone from every install,
and what builders/wrapper-requirements.txt asks instead lets the newest releases in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from builders import deps, wrapper
from tests import harness

pytestmark = pytest.mark.docker

# What a release of 2025 needs, which the old pins refused: a resolver then took the older release.
CURRENT_STACK = ["numpy>=2", "protobuf>=5", "flask>=3", "werkzeug>=3.1", "urllib3>=2", "gunicorn>=23"]
MODEL = """import s2i_current


class MyModel:
    def predict(self, X, features_names=None):
        return [[s2i_current.VERSION]]
"""
MAINSTREAM = ["numpy", "onnx", "tensorflow-cpu", "transformers", "flask", "pandas"]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[harness.Index]:
    """s2i-current 1.0 (needs nothing) and 2.0 (needs the current stack), on a local index."""
    wheels = tmp_path / "index-wheels"
    harness.make_wheel(wheels, "s2i_current", "1.0", 'VERSION = "current-1.0"\n')
    harness.make_wheel(wheels, "s2i_current", "2.0", 'VERSION = "current-2.0"\n', requires=CURRENT_STACK)
    with harness.private_index(sorted(wheels.glob("*.whl"))) as served:
        yield served


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_the_newer_release_on_the_index_wins(
    python3_builder: str, index: harness.Index, tmp_path: Path, installer: str
) -> None:
    source = tmp_path / "app"
    source.mkdir()
    (source / "MyModel.py").write_text(MODEL)
    (source / "requirements.txt").write_text("s2i-current\n")
    image = harness.unique_tag(f"current-stack-{installer}")
    env = {"MODEL_NAME": "MyModel", "EXTRA_INDEX_URL": index.url_with_credentials(), "INSTALLER": installer}
    result = harness.build_ok(source, image, env=env)
    try:
        assert "+ s2i-current==2.0" in result.log
        # the wrapper's own packages stayed as the builder has them: nothing was moved back
        changed = [line for line in result.log.splitlines() if line.strip().startswith(("~ ", "- "))]
        assert changed == [], changed
        assert any(p.startswith("/files/s2i_current-2.0") for p in index.authorized)
        with harness.serve(image) as server:
            reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}}).json()
            assert reply["data"]["ndarray"] == [["current-2.0"]]
    finally:
        harness.docker("rmi", "--force", image, check=False)


def test_mainstream_packages_resolve_as_if_the_wrapper_were_not_there(python3_builder: str) -> None:
    """In the builder image, with the index the builds use: numpy, onnx, tensorflow-cpu, transformers,
    flask and pandas resolve to the same releases with the wrapper's requirements as without them."""

    def resolve(*extra: str) -> dict[str, str]:
        script = "printf '%s\\n' " + " ".join(MAINSTREAM) + " > /tmp/app.txt && exec /opt/s2i/tools/bin/uv "
        script += "pip compile --quiet --no-header --no-annotate --python /opt/app-root/bin/python "
        script += "--python-platform x86_64-manylinux_2_28 /tmp/app.txt " + " ".join(extra)
        run = ["run", "--rm", "--network", "host", "-e", "UV_CACHE_DIR=/tmp/uv", python3_builder]
        out = harness.docker(*run, "bash", "-c", script)
        return deps.locked_versions(out.stdout.decode())

    alone = resolve()
    with_wrapper = resolve("/opt/s2i/wrapper-requirements.txt --find-links /opt/s2i/wheels")
    assert with_wrapper["seldon-core"] == wrapper.VERSION
    assert {name: with_wrapper[name] for name in MAINSTREAM} == {name: alone[name] for name in MAINSTREAM}
    assert int(with_wrapper["numpy"].split(".")[0]) >= 2 and int(with_wrapper["pandas"].split(".")[0]) >= 3
