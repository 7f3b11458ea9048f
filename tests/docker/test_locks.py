"""Lock files decide what is installed, end to end: every lock is made at test time by the real tool
against a private index on 127.0.0.1, then a newer release is published there; the image must serve
exactly the locked version, a stale lock must fail before any download, and a lock that contradicts
the wrapper's pins must fail naming both sides. Every image carries its SBOM.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from builders import wrapper
from tests import harness, lockfiles

pytestmark = pytest.mark.docker
SBOM = "/opt/app-root/sbom.cdx.json"


@pytest.fixture
def shelf(tmp_path: Path) -> Path:
    """What the index publishes: s2i-shared 1.0 (2.0 comes later, after the lock was made)."""
    folder = tmp_path / "shelf"
    harness.make_wheel(folder, "s2i_shared", "1.0", 'VERSION = "shared-1.0"\n')
    return folder


@pytest.fixture
def index(shelf: Path) -> Iterator[harness.Index]:
    with harness.private_index(shelf) as served:
        yield served


@pytest.fixture
def secrets(tmp_path: Path, index: harness.Index) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "netrc").write_text(f"machine 127.0.0.1 login {index.user} password {index.token}\n")
    return folder


@pytest.fixture
def images() -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    if made:
        harness.docker("rmi", "--force", *made, check=False)


def build(app: Path, images: list[str], secrets: Path, **kwargs: object) -> harness.BuildResult:
    image = harness.unique_tag(app.name.lower().replace("_", "-").replace(".", "-"))
    images.append(image)
    kwargs.setdefault("inject", [f"{secrets}:/opt/s2i/secrets"])
    return harness.build(app, image, **kwargs)  # type: ignore[arg-type]


def locked_app(tmp_path: Path, fmt: str, index: harness.Index, dependencies: list[str]) -> Path:
    app = lockfiles.copy_app(tmp_path / fmt)
    made = lockfiles.FORMATS[fmt]
    made.make(app, index, dependencies, lockfiles.tool_env(index, tmp_path / "tool-home"))
    assert (app / made.file).is_file()
    return app


def sbom_of(image: str) -> dict[str, object]:
    return json.loads(harness.docker("run", "--rm", image, "cat", SBOM).stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", sorted(lockfiles.FORMATS))
def test_lock_installs_exactly_the_locked_version_while_a_newer_one_is_published(
    python3_builder: str, fmt: str, tmp_path: Path, shelf: Path, index: harness.Index, secrets: Path,
    images: list[str],
) -> None:  # fmt: skip
    app = locked_app(tmp_path, fmt, index, ["s2i-shared"])
    harness.make_wheel(shelf, "s2i_shared", "2.0", 'VERSION = "shared-2.0"\n')  # newer, after the lock
    result = build(app, images, secrets)
    fmt = lockfiles.FORMATS[fmt].file
    assert result.returncode == 0, result.log
    assert f"install order: 1. {fmt} (exactly the locked versions; hash-checking mode)" in result.log
    assert f"{fmt} is current: 1 packages locked, from {index.url}" in result.log
    assert "--require-hashes" in result.log
    assert "+ s2i-shared==1.0" in result.log
    assert any(p == "/files/s2i_shared-1.0-py3-none-any.whl" for p in index.authorized)
    assert not any("s2i_shared-2.0" in p for p in index.authorized)
    assert index.token not in result.log
    with harness.serve(images[0]) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}}).json()
        assert reply["data"]["ndarray"] == [["shared-1.0"]]
    # the SBOM: where the label says, listing the locked package and the wrapper at their versions
    labels = json.loads(harness.docker("image", "inspect", images[0]).stdout)[0]["Config"]["Labels"]
    assert labels["io.seldon.s2i.sbom"] == SBOM
    assert f"Writing the SBOM (CycloneDX JSON) to {SBOM}" in result.log
    sbom = sbom_of(images[0])
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.6"
    purls = {c["purl"] for c in sbom["components"]}  # type: ignore[attr-defined]
    assert "pkg:pypi/s2i-shared@1.0" in purls
    assert f"pkg:pypi/seldon-core@{wrapper.VERSION.replace('+', '%2B')}" in purls, purls
    assert index.token.encode() not in harness.docker("save", images[0]).stdout


@pytest.mark.parametrize("fmt", lockfiles.STALE)
def test_stale_lock_fails_before_any_download_naming_the_fix(
    python3_builder: str, fmt: str, tmp_path: Path, shelf: Path, index: harness.Index, secrets: Path,
    images: list[str],
) -> None:  # fmt: skip
    app = locked_app(tmp_path, fmt, index, ["s2i-shared"])
    lockfiles.stale(app)
    harness.make_wheel(shelf, "s2i_shared", "2.0", 'VERSION = "shared-2.0"\n')
    index.authorized.clear()
    result = build(app, images, secrets)
    assert result.returncode == 2, result.log
    made = lockfiles.FORMATS[fmt]
    assert f"ERROR {made.file} is out of date: it no longer matches {made.checked_against}" in result.log
    assert f"TIP Run `{made.fix}` in the project folder and commit the new {made.file}" in result.log
    assert not any(p.startswith("/files/") for p in index.authorized), index.authorized
    assert index.token not in result.log


def test_the_whole_build_log_of_a_stale_lock(
    python3_builder: str, tmp_path: Path, index: harness.Index, secrets: Path, images: list[str]
) -> None:
    """A failure users meet often, pinned whole as tests/docker/golden's others are: uv.lock made by
    the real uv, then pyproject.toml asks for what it cannot give."""
    app = locked_app(tmp_path, "uv.lock", index, ["s2i-shared"])
    lockfiles.stale(app)
    result = build(app, images, secrets)
    assert result.returncode == 2, result.log
    harness.assert_golden(result.log, Path(__file__).with_name("golden") / "stale_lock.log")


@pytest.mark.parametrize("fmt", sorted(lockfiles.FORMATS))
def test_lock_pinning_the_wrapper_elsewhere_fails_naming_both_sides(
    python3_builder: str, fmt: str, tmp_path: Path, shelf: Path, index: harness.Index, secrets: Path,
    images: list[str],
) -> None:  # fmt: skip
    """The lock pins seldon-core 1.0 (a wheel on the test index); the builder's own pin is read from
    builders/wrapper-requirements.txt, so the test holds whatever versions that file pins."""
    harness.make_wheel(shelf, "seldon_core", "1.0", "")
    pins = (harness.ROOT / "builders" / "wrapper-requirements.txt").read_text().splitlines()
    pin = next(line.strip() for line in pins if line.startswith("seldon-core"))
    app = locked_app(tmp_path, fmt, index, ["s2i-shared", "seldon-core==1.0"])
    index.authorized.clear()
    result = build(app, images, secrets)
    assert result.returncode != 0
    fmt = lockfiles.FORMATS[fmt].file
    assert f"seldon-core==1.0 ({fmt}) contradicts the builder's pin {pin}" in result.log
    assert "ERROR the application's dependencies conflict with the seldon-core wrapper's pins" in result.log
    assert not any(p.startswith("/files/") for p in index.authorized), index.authorized


def test_wheels_at_whl_win_where_the_locks_hashes_allow(
    python3_builder: str, tmp_path: Path, shelf: Path, index: harness.Index, secrets: Path,
    images: list[str],
) -> None:  # fmt: skip
    """The locked wheel itself at /whl: installed from there with no network at all. A wheel of the
    same name and version but other bytes fails the lock's hash: the locked file comes from the index."""
    app = locked_app(tmp_path, "uv.lock", index, ["s2i-shared"])
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "s2i_shared-1.0-py3-none-any.whl").write_bytes(
        (shelf / "s2i_shared-1.0-py3-none-any.whl").read_bytes()
    )
    index.authorized.clear()
    result = build(
        app, images, secrets, inject=[f"{secrets}:/opt/s2i/secrets", f"{wheels}:/whl"], network="none"
    )
    assert result.returncode == 0, result.log
    assert "satisfied by installed packages and local wheels: no index used" in result.log
    assert "+ s2i-shared==1.0" in result.log and index.authorized == []

    harness.make_wheel(wheels, "s2i_shared", "1.0", 'VERSION = "tampered"\n')  # same name, other bytes
    result = build(app, images, secrets, inject=[f"{secrets}:/opt/s2i/secrets", f"{wheels}:/whl"])
    assert result.returncode == 0, result.log
    assert "/files/s2i_shared-1.0-py3-none-any.whl" in index.authorized  # the locked file, from the index
    with harness.serve(images[-1]) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}}).json()
        assert reply["data"]["ndarray"] == [["shared-1.0"]]


PROBE = """
import json
from importlib import metadata
from packaging.requirements import Requirement
dists = list(metadata.distributions(path=[PATH]))
installed = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in dists}
found = []
for dist in dists:
    for line in dist.requires or []:
        r = Requirement(line)
        current = installed.get(r.name.lower().replace("_", "-"))
        if r.marker is None and current and r.specifier.contains(current):
            found.append([dist.metadata["Name"], dist.version, str(r), r.name,
                          [[s.operator, s.version] for s in r.specifier]])
print(json.dumps(found))
"""


def test_lock_breaking_a_requirement_in_the_builders_environment_fails_naming_both_sides(
    python3_builder: str, tmp_path: Path, shelf: Path, index: harness.Index, secrets: Path,
    images: list[str],
) -> None:  # fmt: skip
    """A requirement that a package of the builder's environment declares and the environment meets
    today, on a package the wrapper's pins do not name (found in the builder image at test time, so
    the test follows whatever the wrapper runs on), and a lock pinning a version it excludes."""
    pins = (harness.ROOT / "builders" / "wrapper-requirements.txt").read_text()
    pinned_names = {
        Requirement(line).name.lower() for line in pins.splitlines() if line and line[0].isalpha()
    }
    site = harness.site_packages(python3_builder)
    probe = harness.docker("run", "--rm", python3_builder, "/opt/s2i/tools/bin/python", "-c",
                           PROBE.replace("PATH", repr(site)))  # fmt: skip
    candidates = []
    for owner, owner_version, requirement, name, specs in json.loads(probe.stdout):
        caps = [v for op, v in specs if op == "<"]
        floors = [v for op, v in specs if op in (">=", ">") and v != "0"]
        bad = caps[0] if caps else ("0.0.1" if floors else None)
        if bad and name.lower() not in pinned_names:
            candidates.append((owner, owner_version, requirement, name, bad))
    assert candidates, "no requirement in the builder's environment to contradict"
    owner, owner_version, requirement, name, bad = sorted(candidates)[0]
    harness.make_wheel(shelf, name.lower().replace("-", "_"), bad, "")
    app = locked_app(tmp_path, "uv.lock", index, ["s2i-shared", f"{name}=={bad}"])
    index.authorized.clear()
    result = build(app, images, secrets)
    assert result.returncode == 1, result.log
    user = f"{canonicalize_name(name)}=={bad} (uv.lock)"
    wrapper = f"{requirement} (required by {owner} {owner_version})"
    assert f"{user} contradicts the builder's pin {wrapper}" in result.log
    assert not any(p.startswith("/files/") for p in index.authorized), index.authorized


@pytest.mark.parametrize("fmt", ["uv.lock", "Pipfile.lock"])
def test_lock_with_pip_as_the_installer(
    python3_builder: str, fmt: str, tmp_path: Path, shelf: Path, index: harness.Index, secrets: Path,
    images: list[str],
) -> None:  # fmt: skip
    """INSTALLER=pip installs the same export in pip's hash-checking mode, credentials from the netrc."""
    app = locked_app(tmp_path, fmt, index, ["s2i-shared"])
    harness.make_wheel(shelf, "s2i_shared", "2.0", 'VERSION = "shared-2.0"\n')
    result = build(app, images, secrets, env={"INSTALLER": "pip"})
    assert result.returncode == 0, result.log
    assert "-m pip install" in result.log and "--require-hashes" in result.log
    assert "+ s2i-shared==1.0" in result.log and index.token not in result.log
    with harness.serve(images[0]) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}}).json()
        assert reply["data"]["ndarray"] == [["shared-1.0"]]


def test_uv_project_that_is_a_package_is_installed_after_its_locked_dependencies(
    python3_builder: str, tmp_path: Path, shelf: Path, index: harness.Index, secrets: Path,
    images: list[str],
) -> None:  # fmt: skip
    """A [build-system] makes the uv project a package, as `uv sync` would install it: its locked
    dependencies first (s2i-shared from the private index, named for that package only), then the
    project itself, whose dependencies are then already met. Its build backend comes from the default
    index, as for any pyproject.toml project."""
    app = lockfiles.copy_app(tmp_path / "uv-package")
    (app / "locked_app").mkdir()
    (app / "locked_app" / "__init__.py").write_text('NAME = "locked-app"\n')
    (app / "pyproject.toml").write_text(
        lockfiles.pyproject(["s2i-shared"])
        + '\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        + '\n[tool.hatch.build.targets.wheel]\npackages = ["locked_app"]\n'
        + f'\n[[tool.uv.index]]\nname = "local"\nurl = "{index.url}"\nexplicit = true\n'
        + '\n[tool.uv.sources]\ns2i-shared = { index = "local" }\n'
    )
    lockfiles.run(
        [str(lockfiles.BIN / "uv"), "lock", "--quiet"], app, lockfiles.tool_env(index, tmp_path / "home")
    )
    harness.make_wheel(shelf, "s2i_shared", "2.0", 'VERSION = "shared-2.0"\n')
    result = build(app, images, secrets)
    assert result.returncode == 0, result.log
    assert (
        "install order: 1. uv.lock (exactly the locked versions; hash-checking mode), 2. the project"
        in result.log
    )
    assert "+ s2i-shared==1.0" in result.log and "+ locked-app==0.1" in result.log
    lock = harness.docker("run", "--rm", images[0], "cat", "/opt/app-root/requirements.lock").stdout.decode()
    assert "s2i-shared==1.0" in lock.splitlines()
    assert any(line.startswith("locked-app") for line in lock.splitlines()), lock


def test_lock_index_credentials_from_an_injected_pip_conf(
    python3_builder: str, tmp_path: Path, shelf: Path, index: harness.Index, images: list[str]
) -> None:  # fmt: skip
    """No netrc: a pip.conf names the lock's index with user:token; that spelling is used for the
    lock's bare URL, shown redacted, and the token is in no layer."""
    app = locked_app(tmp_path, "Pipfile.lock", index, ["s2i-shared"])
    secrets = tmp_path / "conf-secrets"
    secrets.mkdir()
    (secrets / "pip.conf").write_text(f"[global]\nextra-index-url = {index.url_with_credentials()}\n")
    result = build(app, images, secrets)
    assert result.returncode == 0, result.log
    assert "index settings: /opt/s2i/secrets/pip.conf (pip.conf), used in place" in result.log
    assert "--index-url http://builder:****@127.0.0.1" in result.log
    assert "+ s2i-shared==1.0" in result.log and index.token not in result.log
    assert index.token.encode() not in harness.docker("save", images[0]).stdout


@pytest.mark.parametrize(
    ("tool", "release", "make", "dependencies"),
    [
        ("poetry", "1.8.5", lockfiles.poetry_classic, ["s2i-shared"]),  # lock-version 2.0, Poetry 1.8's hash
        ("pipenv", "2026.10.3", lockfiles.pipenv, ["S2I_Shared"]),  # pipenv 2026.4's canonical names
        ("pip", "26.3", lockfiles.pip_lock, ["s2i-shared"]),  # pylock.toml by `pip lock`
        ("pdm", "2.29.4", lockfiles.pdm_export, ["s2i-shared"]),  # pylock.toml by PDM: file URLs, no index
    ],
    ids=["poetry-1.8.5", "pipenv-2026.10.3-canonical-names", "pip-26.3-pylock", "pdm-2.29.4-pylock"],
)
def test_lock_of_another_release_installs_exactly_the_locked_version(
    python3_builder: str, tool: str, release: str, make: lockfiles.Maker, dependencies: list[str],
    tools: Callable[[str, str], Path], tmp_path: Path, shelf: Path, index: harness.Index, secrets: Path,
    images: list[str],
) -> None:  # fmt: skip
    """Locks whose hash rule or format differs from the dev environment's release, and pylock.toml
    from the other writers: each is current for the release that wrote it, so the image installs and
    serves exactly the locked version."""
    app = lockfiles.copy_app(tmp_path / f"{tool}-{release}")
    make(app, index, dependencies, lockfiles.tool_env(index, tmp_path / "tool-home"), tools(tool, release))
    harness.make_wheel(shelf, "s2i_shared", "2.0", 'VERSION = "shared-2.0"\n')
    result = build(app, images, secrets)
    assert result.returncode == 0, result.log
    assert "+ s2i-shared==1.0" in result.log
    with harness.serve(images[0]) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}}).json()
        assert reply["data"]["ndarray"] == [["shared-1.0"]]


def test_pipfile_without_a_source_installs_its_lock_from_the_public_index(
    python3_builder: str, tmp_path: Path, images: list[str]
) -> None:  # fmt: skip
    """A Pipfile written by hand names no [[source]]: pipenv locks against its default, the public
    index, and hashes the Pipfile with that source filled in. The lock (made now, never committed)
    pins an older six than the newest, under a name spelled as the user wrote it."""
    app = lockfiles.copy_app(tmp_path / "pipfile-no-source")
    (app / "MyModel.py").write_text(
        "import six\n\n\nclass MyModel:\n    def predict(self, X, features_names=None):\n"
        "        return [[six.__version__]]\n"
    )
    lockfiles.pipenv(app, None, ["Six==1.16.0"], lockfiles.tool_env(None, tmp_path / "tool-home"))
    locked = json.loads((app / "Pipfile.lock").read_text())
    assert "source" not in (app / "Pipfile").read_text() and locked["default"]["six"]["version"] == "==1.16.0"
    result = build(app, images, tmp_path, inject=[])
    assert result.returncode == 0, result.log
    assert "Pipfile.lock is current: 1 packages locked" in result.log and "+ six==1.16.0" in result.log
    with harness.serve(images[0]) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}}).json()
        assert reply["data"]["ndarray"] == [["1.16.0"]]
