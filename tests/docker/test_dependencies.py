"""Every pip dependency route end to end: real builds, real installs, the log and the lock checked.

The private-index tests serve a PEP 503 index with HTTP Basic auth on 127.0.0.1 and then search every
file of every layer of the built image (and its configuration) for the token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests import harness

pytestmark = pytest.mark.docker
WRAPPER_LOCK = harness.ROOT / "builders" / "wrapper-lock.txt"


def lock_of(image: str) -> list[str]:
    lock = harness.docker("run", "--rm", image, "cat", "/opt/app-root/requirements.lock").stdout
    return lock.decode().split()


@pytest.fixture
def built() -> Iterator[list[str]]:
    """Images a test creates; removed afterwards."""
    images: list[str] = []
    yield images
    if images:
        harness.docker("rmi", "--force", *images, check=False)


def build(fixture: str, images: list[str], **kwargs: object) -> harness.BuildResult:
    image = harness.unique_tag(fixture.replace("_", "-"))
    images.append(image)
    return harness.build_ok(harness.FIXTURES / fixture, image, **kwargs)


def test_hashed_requirements_install_in_hash_checking_mode(python3_builder: str, built: list[str]) -> None:
    result = build("requirements_hashes", built)
    assert "install order: 1. requirements.txt (hash-checking mode)" in result.log
    assert "--require-hashes" in result.log
    assert "+ tabulate==0.9.0" in result.log
    lock = lock_of(built[0])
    # the wrapper's numpy stays at the builder's version (hash-checking mode pins what is installed)
    assert "tabulate==0.9.0" in lock and locked(python3_builder, "numpy") in lock


def locked(builder: str, name: str) -> str:
    """`name==version` as builders/wrapper-lock.txt pins it for the builder's Python (the lock holds
    one line per Python range where the releases differ)."""
    code = "import platform; print(platform.python_version())"
    python = (
        harness.docker("run", "--rm", builder, "/opt/app-root/bin/python", "-c", code).stdout.decode().strip()
    )
    environment = {"python_full_version": python, "python_version": ".".join(python.split(".")[:2])}
    for line in WRAPPER_LOCK.read_text().splitlines():
        if line.startswith(f"{name}=="):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                return f"{requirement.name}{requirement.specifier}"
    raise AssertionError(f"{name} is not in {WRAPPER_LOCK} for Python {python}")


def test_hashed_requirements_with_pip(python3_builder: str, built: list[str]) -> None:
    result = build("requirements_hashes", built, env={"INSTALLER": "pip"})
    assert "-m pip install" in result.log and "--require-hashes" in result.log
    assert "tabulate==0.9.0" in lock_of(built[0])


def test_setup_py_only(python3_builder: str, built: list[str]) -> None:
    result = build("setup_py_only", built)
    assert "install order: 1. the project (setup.py)" in result.log
    lock = lock_of(built[0])
    assert "tabulate==0.9.0" in lock
    assert any(line.startswith("setup-py-only-model") for line in lock), lock


def test_pyproject_with_hatchling_backend(python3_builder: str, built: list[str]) -> None:
    result = build("pyproject_only", built)
    assert "install order: 1. the project (pyproject.toml)" in result.log
    assert "+ tabulate==0.9.0" in result.log
    with harness.serve(built[0]) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1, 2]]}}).json()
        assert reply["data"]["ndarray"] == [[3.0, 6.0]]
        assert reply["meta"]["tags"] == {"tabulate": "0.9.0", "project": "0.2"}


def test_several_sources_in_documented_order(python3_builder: str, built: list[str]) -> None:
    result = build("several_sources", built)
    log = result.log
    assert "dependency files found: requirements.txt, requirements.in, setup.py, pyproject.toml" in log
    assert "requirements.in is the source of requirements.txt" in log
    assert "setup.py and pyproject.toml describe one project" in log
    assert (
        "install order: 1. requirements.txt (with requirements/base.txt, constraints.txt), "
        "2. the project (setup.py)" in log
    )
    assert log.index("---> Installing requirements.txt") < log.index("---> Installing the project (setup.py)")
    lock = lock_of(built[0])
    assert "tabulate==0.9.0" in lock  # the version the -c file holds, through the -r file
    assert any(line.startswith("several-sources-model") for line in lock), lock


def test_requirements_in_is_compiled(python3_builder: str, built: list[str]) -> None:
    result = build("requirements_in", built)
    assert "install order: 1. requirements.in (compiled to pinned requirements first)" in result.log
    assert "---> Compiling requirements.in" in result.log
    compiled = result.log.split("requirements.in compiled to:", 1)[1].splitlines()
    assert compiled[1].strip() == "tabulate==0.9.0"
    with harness.serve(built[0]) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1, 2]]}}).json()
        assert reply["meta"]["tags"] == {"tabulate": "0.9.0"}


def test_every_requirement_in_whl_builds_with_no_network(
    python3_builder: str, built: list[str], tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    harness.make_wheel(wheels, "s2i_canary", "1.0", 'VERSION = "canary-1.0"\n')
    harness.make_wheel(wheels, "s2i_shared", "1.0", 'VERSION = "shared-1.0"\n')
    result = build("local_wheels_offline", built, inject=[f"{wheels}:/whl"], network="none")
    assert "Using 2 wheels from /whl before any index" in result.log
    assert "satisfied by installed packages and local wheels: no index used" in result.log
    lock = lock_of(built[0])
    assert "s2i-canary==1.0" in lock and "s2i-shared==1.0" in lock


# --- private index --------------------------------------------------------------------------------


def _index_wheels(folder: Path) -> list[Path]:
    """s2i-private 1.0, and s2i-shared 1.0 and 2.0 (newer than the wheel the /whl test injects)."""
    harness.make_wheel(folder, "s2i_private", "1.0", 'VERSION = "private-1.0"\n')
    harness.make_wheel(folder, "s2i_shared", "1.0", 'VERSION = "shared-1.0"\n')
    harness.make_wheel(folder, "s2i_shared", "2.0", 'VERSION = "shared-2.0"\n')
    return sorted(folder.glob("*.whl"))


@pytest.fixture
def index(tmp_path: Path) -> Iterator[harness.Index]:
    with harness.private_index(_index_wheels(tmp_path / "index-wheels")) as served:
        yield served


@pytest.fixture
def token_index(tmp_path: Path) -> Iterator[harness.Index]:
    """The same packages behind a token alone (`http://TOKEN@host/simple`, as Gemfury issues them)."""
    with harness.private_index(_index_wheels(tmp_path / "index-wheels"), user=None) as served:
        yield served


def assert_token_nowhere(image: str, result: harness.BuildResult, token: str, config_too: bool) -> None:
    """The token in no layer's files (names or contents), nor in the log; with `config_too`, nor in
    the image configuration (s2i itself keeps -e values there; `python -m builders.host` does not).
    The installed package's own text must be found, or the search is blind."""
    assert token not in result.log
    hits = harness.files_containing(image, token.encode(), b"private-1.0")
    assert any("s2i_private/__init__.py" in hit for hit in hits[b"private-1.0"]), hits[b"private-1.0"]
    layers = [hit for hit in hits[token.encode()] if ":" in hit]
    assert layers == [], f"the token is in the image's files: {layers}"
    config = json.loads(harness.docker("image", "inspect", image).stdout)[0]["Config"]
    if config_too:
        assert token not in json.dumps(config)
        assert hits[token.encode()] == []
    else:  # the -e value stays in the configuration: what the build's WARNING says
        assert token in json.dumps(config) and hits[token.encode()] != []


def test_password_in_extra_index_url_becomes_a_netrc_and_stays_out_of_the_image(
    python3_builder: str, built: list[str], index: harness.Index
) -> None:
    """The build command hands a -e password to assemble as an injected netrc (s2i would keep it in
    the image's configuration); assemble sees the URL without it."""
    result = build("private_index", built, env={"EXTRA_INDEX_URL": index.url_with_credentials()})
    assert "assemble gets it from an injected netrc at /opt/s2i/secrets/netrc" in result.log
    assert "index credentials: /opt/s2i/secrets/netrc (netrc), used in place" in result.log
    assert any(p.startswith("/files/s2i_private-1.0") for p in index.authorized)
    lock = lock_of(built[0])
    assert "s2i-private==1.0" in lock and "s2i-shared==2.0" in lock
    config = json.loads(harness.docker("image", "inspect", built[0]).stdout)[0]["Config"]
    assert f"EXTRA_INDEX_URL={index.url}" in config["Env"]
    assert_token_nowhere(built[0], result, index.token, config_too=True)


def test_a_token_alone_in_extra_index_url_is_a_credential_too(
    python3_builder: str, built: list[str], token_index: harness.Index
) -> None:
    """`https://TOKEN@host/simple`: reaches the index, and the token is in no log line, no layer and
    not in the image configuration (the build command hands it over as a netrc login)."""
    result = build("private_index", built, env={"EXTRA_INDEX_URL": token_index.url_with_credentials()})
    assert "assemble gets it from an injected netrc at /opt/s2i/secrets/netrc" in result.log
    assert any(p.startswith("/files/s2i_private-1.0") for p in token_index.authorized)
    config = json.loads(harness.docker("image", "inspect", built[0]).stdout)[0]["Config"]
    assert f"EXTRA_INDEX_URL={token_index.url}" in config["Env"]
    assert_token_nowhere(built[0], result, token_index.token, config_too=True)


def test_assemble_masks_a_token_alone_as_the_real_s2i_cli_runs_it(
    python3_builder: str, token_index: harness.Index
) -> None:
    """The real s2i CLI hands the -e value to assemble as it is: the install still reaches the index,
    and every log line shows the URL with `****@` in the token's place."""
    result = harness.docker(
        "run", "--rm", "--network", "host", "--user", "1001",
        "-e", f"EXTRA_INDEX_URL={token_index.url_with_credentials()}",
        "-v", f"{harness.FIXTURES / 'private_index'}:/tmp/src:ro",
        python3_builder, "/usr/libexec/s2i/assemble",
        check=False,
    )  # fmt: skip
    log = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, log
    assert "WARNING EXTRA_INDEX_URL carries a password or token" in log
    assert "--extra-index-url http://****@127.0.0.1" in log
    assert token_index.token not in log
    assert any(p.startswith("/files/s2i_private-1.0") for p in token_index.authorized)


def test_assemble_warns_of_a_password_in_extra_index_url(python3_builder: str, index: harness.Index) -> None:
    """Under the real s2i CLI the -e value reaches assemble as it is: assemble warns, pointing to the
    injection route, and never prints the password."""
    result = harness.docker(
        "run", "--rm", "--network", "host", "--user", "1001",
        "-e", f"EXTRA_INDEX_URL={index.url_with_credentials()}",
        "-v", f"{harness.FIXTURES / 'missing_package'}:/tmp/src:ro",
        python3_builder, "/usr/libexec/s2i/assemble",
        check=False,
    )  # fmt: skip
    log = (result.stdout + result.stderr).decode()
    assert result.returncode == 1, log  # the fixture's package exists nowhere
    assert "WARNING EXTRA_INDEX_URL carries a password" in log
    assert "-i ./secrets:/opt/s2i/secrets" in log
    assert "http://builder:****@127.0.0.1" in log
    assert index.token not in log


def test_netrc_injection_and_whl_beats_a_newer_index_release(
    python3_builder: str, built: list[str], index: harness.Index, tmp_path: Path
) -> None:
    secrets, wheels = tmp_path / "secrets", tmp_path / "wheels"
    secrets.mkdir()
    (secrets / "netrc").write_text(f"machine 127.0.0.1 login {index.user} password {index.token}\n")
    harness.make_wheel(wheels, "s2i_shared", "1.0", 'VERSION = "shared-1.0"\n')
    result = build(
        "private_index",
        built,
        env={"EXTRA_INDEX_URL": index.url},
        inject=[f"{secrets}:/opt/s2i/secrets", f"{wheels}:/whl"],
    )
    assert "index credentials: /opt/s2i/secrets/netrc (netrc), used in place" in result.log
    assert "WARNING" not in result.log
    assert any(p.startswith("/files/s2i_private-1.0") for p in index.authorized)
    assert not any("s2i_shared" in p for p in index.authorized if p.startswith("/files/"))
    with harness.serve(built[0]) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}}).json()
        assert reply["data"]["ndarray"] == [["private-1.0", "shared-1.0"]]
    assert_token_nowhere(built[0], result, index.token, config_too=True)


def test_pip_conf_injection_with_uv(
    python3_builder: str, built: list[str], index: harness.Index, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "pip.conf").write_text(f"[global]\nextra-index-url = {index.url_with_credentials()}\n")
    result = build("private_index", built, inject=[f"{secrets}:/opt/s2i/secrets"])
    assert "index settings: /opt/s2i/secrets/pip.conf (pip.conf), used in place" in result.log
    assert "--extra-index-url http://builder:****@127.0.0.1" in result.log
    lock = lock_of(built[0])
    assert "s2i-private==1.0" in lock and "s2i-shared==2.0" in lock
    assert_token_nowhere(built[0], result, index.token, config_too=True)


def test_netrc_injection_with_pip(
    python3_builder: str, built: list[str], index: harness.Index, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "netrc").write_text(f"machine 127.0.0.1\n  login {index.user}\n  password {index.token}\n")
    result = build(
        "private_index",
        built,
        env={"EXTRA_INDEX_URL": index.url, "INSTALLER": "pip"},
        inject=[f"{secrets}:/opt/s2i/secrets"],
    )
    assert "-m pip install" in result.log
    lock = lock_of(built[0])
    assert "s2i-private==1.0" in lock and "s2i-shared==2.0" in lock
    assert_token_nowhere(built[0], result, index.token, config_too=True)
