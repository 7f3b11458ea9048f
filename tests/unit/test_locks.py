"""builders.locks (precedence, freshness rules, installer input) and builders.sbom, without Docker.
The Docker tests (tests/docker/test_locks.py) run every format end to end with locks the real tools
make; these pin the rules and the pure functions."""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

import pytest

from builders import incremental, locks, sbom
from builders.config import BuildConfig
from builders.errors import ConfigError, StaleLock
from builders.layout import Layout
from builders.lockformats import pipenv, poetry, pylock
from builders.lockformats import uv as uv_lock
from builders.plan import plan as make_plan

PYPROJECT = '[project]\nname = "app"\nversion = "0.1"\ndependencies = ["six"]\n'
CONDA = "channels: [local]\ndependencies: [python]\n"
BUILD_SYSTEM = '\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'


def folder(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"uv.lock": "", "poetry.lock": "", "pyproject.toml": PYPROJECT}, "several lock files in"),
        ({"Pipfile": "[packages]\n"}, "has no Pipfile.lock beside it"),
        ({"uv.lock": "", "pyproject.toml": PYPROJECT, "environment.yml": CONDA},
         "both decide the Python packages"),
        ({"poetry.lock": ""}, "has no pyproject.toml beside it"),
        ({"Pipfile.lock": "{}"}, "has no Pipfile beside it"),
    ],
)  # fmt: skip
def test_contradicting_dependency_files_are_refused(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        make_plan(folder(tmp_path, files))
    assert caught.value.tip


def test_a_lock_wins_over_requirements_and_says_so(tmp_path: Path) -> None:
    files = {"uv.lock": "", "pyproject.toml": PYPROJECT, "requirements.txt": "six\n"}
    plan = make_plan(folder(tmp_path, files))
    assert plan.found == ("requirements.txt", "pyproject.toml", "uv.lock")
    assert plan.lock == locks.Lock("uv.lock", "pyproject.toml", "uv lock")
    assert plan.requirements is None and plan.project is None
    assert ("requirements.txt", "uv.lock decides the installed set (a lock wins)") in plan.skipped
    assert plan.order() == ["uv.lock (exactly the locked versions; hash-checking mode)"]


@pytest.mark.parametrize(
    ("lock", "pyproject", "installed"),
    [
        ("uv.lock", PYPROJECT, False),  # no build system: a virtual project, as `uv sync` sees it
        ("uv.lock", PYPROJECT + BUILD_SYSTEM, True),
        ("uv.lock", PYPROJECT + BUILD_SYSTEM + "\n[tool.uv]\npackage = false\n", False),
        ("poetry.lock", PYPROJECT + BUILD_SYSTEM, True),
        ("poetry.lock", PYPROJECT + "\n[tool.poetry]\npackage-mode = false\n", False),
        ("pylock.toml", PYPROJECT + BUILD_SYSTEM, True),
    ],
)
def test_whether_the_project_is_installed_follows_its_own_settings(
    tmp_path: Path, lock: str, pyproject: str, installed: bool
) -> None:
    plan = make_plan(folder(tmp_path, {lock: "", "pyproject.toml": pyproject}))
    assert (plan.project == "pyproject.toml") is installed
    assert plan.order()[0] == f"{lock} (exactly the locked versions; hash-checking mode)"


def test_uv_export_command_line() -> None:
    assert uv_lock.command("uv", "/opt/app-root/bin/python", Path("/src"), Path("/tmp/out.txt")) == [
        "uv", "export", "--locked", "--format", "requirements.txt", "--no-default-groups",
        "--no-emit-project", "--no-header", "--no-annotate", "--python", "/opt/app-root/bin/python",
        "--project", "/src", "--output-file", "/tmp/out.txt", "--quiet",
    ]  # fmt: skip


def test_index_settings_for_a_lock() -> None:
    lock_urls = ["http://127.0.0.1:8080/simple", "https://mirror.example.invalid/simple/"]
    # no configured default: the lock's first index is the default, EXTRA_INDEX_URL stays extra
    assert locks.indexes(lock_urls, None, ["https://extra.example.invalid/simple"]) == (
        "http://127.0.0.1:8080/simple",
        ("https://mirror.example.invalid/simple/", "https://extra.example.invalid/simple"),
    )
    # a configured spelling with credentials replaces the lock's bare URL; pip.conf's default stays
    configured = "https://me:secret@mirror.example.invalid/simple"
    assert locks.indexes(lock_urls, configured, []) == (configured, ("http://127.0.0.1:8080/simple",))


def test_pylock_becomes_hashed_requirements_for_this_interpreter(tmp_path: Path) -> None:
    url = "http://127.0.0.1:8080/simple"
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "hand"\n\n'
        f'[[packages]]\nname = "s2i-shared"\nversion = "1.0"\nindex = "{url}"\n'
        'wheels = [{ name = "s2i_shared-1.0-py3-none-any.whl", '
        'url = "http://127.0.0.1:8080/files/s2i_shared-1.0-py3-none-any.whl", hashes = { sha256 = "aa" } }]\n'
        '\n[[packages]]\nname = "never-here"\nversion = "1.0"\nmarker = "sys_platform == \'win32\'"\n'
        f'index = "{url}"\nwheels = [{{ name = "never_here-1.0-py3-none-any.whl", '
        'url = "http://127.0.0.1:8080/files/never_here-1.0-py3-none-any.whl", hashes = { sha256 = "bb" } }]\n'
    )
    with (tmp_path / "pylock.toml").open("a") as lock:  # the project itself: left to the project step
        lock.write('\n[[packages]]\nname = "app"\ndirectory = { path = "." }\n')
    text, indexes = pylock.requirements(tmp_path / "pylock.toml")
    assert text == "s2i-shared==1.0 \\\n    --hash=sha256:aa\n"
    assert indexes == (url,)


def test_a_changed_project_file_makes_poetry_and_pipenv_locks_stale(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "poetry.lock").write_text('[metadata]\nlock-version = "2.1"\ncontent-hash = "0"\n')
    with pytest.raises(StaleLock, match=r"poetry\.lock is out of date"):
        poetry.requirements(tmp_path)
    (tmp_path / "Pipfile").write_text('[packages]\nsix = "*"\n')
    (tmp_path / "Pipfile.lock").write_text(json.dumps({"_meta": {"hash": {"sha256": "0"}}, "default": {}}))
    with pytest.raises(StaleLock) as caught:
        pipenv.requirements(tmp_path)
    assert caught.value.what == "Pipfile.lock is out of date: it no longer matches Pipfile"
    assert caught.value.tip.startswith("Run `pipenv lock` in the project folder")


def test_sbom_lists_every_distribution_with_its_purl_and_dependencies(tmp_path: Path) -> None:
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    count = sbom.write([site], "MyModel", tmp_path / "sbom.cdx.json")
    document = json.loads((tmp_path / "sbom.cdx.json").read_text())
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
    assert document["metadata"]["component"]["name"] == "MyModel"
    assert len(document["components"]) == count
    purls = {c["purl"] for c in document["components"]}
    assert f"pkg:pypi/packaging@{metadata.version('packaging')}" in purls
    seldon = next(c for c in document["components"] if c["name"] == "seldon-core")
    assert seldon["version"] == metadata.version("seldon-core")  # 1.17.1+s2i: purl `1.17.1%2Bs2i`
    assert (
        seldon["purl"] == seldon["bom-ref"] == "pkg:pypi/seldon-core@" + seldon["version"].replace("+", "%2B")
    )
    graph = {d["ref"]: d.get("dependsOn", []) for d in document["dependencies"]}
    assert f"pkg:pypi/numpy@{metadata.version('numpy')}" in graph[seldon["bom-ref"]]


@pytest.mark.parametrize("name", locks.FILES)
def test_the_incremental_fingerprint_covers_every_lock_file(tmp_path: Path, name: str) -> None:
    (tmp_path / "src").mkdir()
    source = folder(tmp_path / "src", {"MyModel.py": ""})
    layout = Layout(wrapper=tmp_path / "none", wheels=tmp_path / "none")
    cfg = BuildConfig(model_name="MyModel")
    before = incremental.fingerprint(source, cfg, layout, whole_tree=False)
    (source / name).write_text("locked\n")
    created = incremental.fingerprint(source, cfg, layout, whole_tree=False)
    (source / name).write_text("locked again\n")
    changed = incremental.fingerprint(source, cfg, layout, whole_tree=False)
    assert len({before, created, changed}) == 3
