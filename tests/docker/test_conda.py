"""environment.yml / environment.yaml, end to end: solved and installed with py-rattler from a real
conda channel built at test time and served on 127.0.0.1 (public channels are not reachable here)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import conda_channel, harness

pytestmark = pytest.mark.docker

PREFIX = "/opt/app-root/conda"


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = conda_channel.write_channel(tmp_path_factory.mktemp("conda") / "channel")
    with conda_channel.serve_channel(root) as url:
        yield url


def source(fixture: str, tmp_path: Path, channel: str) -> Path:
    """The fixture with its channel placeholder filled in (fixture files are static, ports are not)."""
    target = tmp_path / fixture
    shutil.copytree(harness.FIXTURES / fixture, target)
    for name in ("environment.yml", "environment.yaml"):
        path = target / name
        if path.is_file():
            path.write_text(path.read_text().replace("${channel}", channel))
    return target


def predict(image: str) -> tuple[object, dict[str, str]]:
    with harness.serve(image) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        return body["data"]["ndarray"], body["meta"]["tags"]


def assert_activated(tags: dict[str, str]) -> None:
    assert tags["message"] == conda_channel.GREETING
    assert tags["CONDA_PREFIX"] == PREFIX
    assert tags["PATH"].split(":")[:2] == [f"{PREFIX}/bin", "/opt/app-root/bin"]
    assert tags["LD_LIBRARY_PATH"].split(":")[0] == f"{PREFIX}/lib"


def test_environment_yml_conda_packages_and_pip_section(
    python3_builder: str, tmp_path: Path, channel: str
) -> None:
    image = harness.unique_tag("environment-yml")
    result = harness.build_ok(source("environment_yml", tmp_path, channel), image)
    log = result.log
    assert "dependency files found: environment.yml" in log
    assert "install order: 1. environment.yml conda packages, 2. environment.yml pip section" in log
    assert f"conda packages s2i-hello >=2 from channels {channel} into {PREFIX}" in log
    # the dependency s2i-greeting comes along, from the package's own `depends`
    assert "+ s2i-greeting=1.0=0" in log and "+ s2i-hello=2.1=0" in log
    assert log.index("Installing the conda packages") < log.index("Installing the pip section")
    # the summary counts the pip section too (it once said "changed 0 packages" here)
    assert (
        "---> The application changed 1 packages of the builder's environment:\n     + tabulate==0.9.0\n"
        in log
    )
    try:
        reply, tags = predict(image)
        assert reply == [[f"s2i-hello: {conda_channel.GREETING}"]]
        assert tags["tabulate"] == "0.9.0"
        assert_activated(tags)
        lock = harness.docker("run", "--rm", image, "cat", "/opt/app-root/requirements.lock").stdout.decode()
        assert "tabulate==0.9.0" in lock.splitlines()
        assert "seldon-core==1.18.2+s2i" in lock.splitlines()  # the rebuilt wrapper, its pins held
        sbom = json.loads(harness.docker("run", "--rm", image, "cat", "/opt/app-root/sbom.cdx.json").stdout)
        assert "pkg:pypi/tabulate@0.9.0" in {c["purl"] for c in sbom["components"]}
        # the prefix belongs to the app user and group 0 (arbitrary UIDs), and no cache was left
        stat = harness.docker(
            "run", "--rm", image, "stat", "-c", "%u:%g %A", PREFIX, f"{PREFIX}/bin/s2i-hello"
        )
        assert stat.stdout.decode().split("\n")[:2] == ["1001:0 drwxrwxr-x", "1001:0 -rwxrwxr-x"]
        home = harness.docker("run", "--rm", image, "ls", "-A", "/opt/app-root/src").stdout.decode().split()
        assert ".cache" not in home and "rattler" not in home
    finally:
        harness.docker("rmi", "--force", image, check=False)


def test_environment_yaml_and_an_in_place_rebuild_keep_the_prefix(
    python3_builder: str, tmp_path: Path, channel: str
) -> None:
    app = source("environment_yaml", tmp_path, channel)
    image = harness.unique_tag("environment-yaml")
    try:
        first = harness.build_ok(app, image, incremental=True)
        assert "dependency files found: environment.yaml" in first.log
        assert "Installing the conda packages of /tmp/src/environment.yaml with py-rattler" in first.log
        # A code-only change: assemble runs in the previous image, whose conda prefix stays.
        (app / "MyModel.py").write_text((app / "MyModel.py").read_text() + "\n# edited\n")
        again = harness.build_ok(app, image, incremental=True)
        assert "replacing the code only" in again.log, again.log
        assert "Installing" not in again.log
        reply, tags = predict(image)
        assert reply == [[f"s2i-hello: {conda_channel.GREETING}"]]
        assert_activated(tags)
    finally:
        harness.docker("rmi", "--force", image, check=False)


def test_unsolvable_spec_names_spec_and_channel(python3_builder: str, tmp_path: Path, channel: str) -> None:
    app = source("environment_yaml", tmp_path, channel)
    (app / "environment.yaml").write_text(f"channels:\n  - {channel}\ndependencies:\n  - s2i-hello >=9\n")
    image = harness.unique_tag("environment-unsolvable")
    result = harness.build(app, image)
    assert result.returncode == 1, result.log
    assert (
        "ERROR /tmp/src/environment.yaml: the conda specs s2i-hello >=9 cannot be solved for "
        f"linux-64/noarch from channels {channel}: "
    ) in result.log
    assert "s2i-hello >=9" in result.log.split("ERROR", 1)[1]
    assert "TIP Check the package names and versions" in result.log
    assert "panicked" not in result.log and "Traceback" not in result.log
    assert not harness.image_exists(image)
