"""A lock is current for the builder exactly when the tool that wrote it says so.

Each lock is made at test time by the oldest and the newest release of each tool's window
(lockfiles.RELEASES), each installed once per session into a throwaway environment, against the
local test index (a Pipfile without [[source]]: the public index, as pipenv would). Then the writing
release itself judges the lock (`pipenv verify`, `poetry check --lock`, `uv lock --check`, which uv
0.5 spells `--locked`) and so does the builder (builders.locks.export, the code the image runs); both
verdicts must agree, for the lock as made and again after a change to the project file makes it
stale. pylock.toml records no inputs: every writer's file must simply be read.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from builders import locks
from builders.errors import ConfigError, StaleLock
from builders.plan import plan as make_plan
from tests import harness, lockfiles


@dataclass(frozen=True)
class Case:
    tool: str
    release: str
    form: str
    make: lockfiles.Maker
    options: dict[str, object]
    stale_name: str = "s2i-shared"  # the requirement made stale, as the project file spells it

    @property
    def id(self) -> str:
        return f"{self.tool}-{self.release}-{self.form}"


PIPFILE_SOURCE = "Pipfile with [[source]], non-canonical names, custom category"
PIPFILE_PUBLIC = "Pipfile without [[source]] (public index), non-canonical name"
GROUPS = '\n[dependency-groups]\ndev = ["s2i-extra"]\n'


def _cases() -> list[Case]:
    cases = []
    for release in lockfiles.RELEASES["pipenv"]:
        custom = {"dependencies": ["S2I_Shared"], "categories": {"tests": ["s2i_extra"]}}
        cases.append(Case("pipenv", release, PIPFILE_SOURCE, lockfiles.pipenv, custom, "S2I_Shared"))
        public = {"index": None, "dependencies": ["Six"]}
        cases.append(Case("pipenv", release, PIPFILE_PUBLIC, lockfiles.pipenv, public, "Six"))
    for release in lockfiles.RELEASES["poetry"]:
        cases.append(Case("poetry", release, "[tool.poetry]", lockfiles.poetry_classic, {}))
        if not release.startswith("1."):  # Poetry 1.8 does not read [project]
            cases.append(Case("poetry", release, "PEP 621 [project]", lockfiles.poetry, {}))
            form = "PEP 621 [project] and [dependency-groups]"
            cases.append(Case("poetry", release, form, lockfiles.poetry, {"groups": GROUPS}))
    cases += [Case("uv", release, "uv.lock", lockfiles.uv_lock, {}) for release in lockfiles.RELEASES["uv"]]
    return cases


def _writers() -> list[Case]:
    return [
        Case("uv", lockfiles.RELEASES["uv"][-1], "uv export --format pylock.toml", lockfiles.pylock, {}),
        *(Case("pip", r, "pip lock", lockfiles.pip_lock, {}) for r in lockfiles.RELEASES["pip"]),
        *(
            Case("pdm", r, "pdm export --format pylock", lockfiles.pdm_export, {})
            for r in lockfiles.RELEASES["pdm"]
        ),
    ]


@pytest.fixture(scope="module")
def shelf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shelf")
    # s2i-shared brings s2i-base along everywhere, s2i-win on Windows only, s2i-opt with an extra
    requires = ["s2i-base", "s2i-win ; sys_platform == 'win32'", "s2i-opt ; extra == 'more'"]
    harness.make_wheel(folder, "s2i_shared", "1.0", 'VERSION = "shared-1.0"\n', requires)
    for name in ("s2i_base", "s2i_win", "s2i_opt", "s2i_extra"):
        harness.make_wheel(folder, name, "1.0", "")
    return folder


@pytest.fixture(scope="module")
def index(shelf: Path) -> Iterator[harness.Index]:
    with harness.private_index(shelf) as served:
        yield served


def tool_verdict(case: Case, bin_dir: Path, app: Path, index: harness.Index, env: dict[str, str]) -> str:
    if case.tool == "pipenv":
        argv, env = ["pipenv", "verify"], lockfiles.pipenv_env(env)
    elif case.tool == "poetry":
        argv, env = ["poetry", "check", "--lock"], lockfiles.poetry_env(index, env)
    else:
        argv = ["uv", "lock", _uv_check(bin_dir)]
    result = subprocess.run(
        [str(bin_dir / argv[0]), *argv[1:]], cwd=app, env=env, capture_output=True, text=True
    )
    output = result.stdout + result.stderr
    assert result.returncode in (0, 1, 2), output
    if case.tool == "poetry" and result.returncode:
        # `poetry check` also fails on warnings about [tool.poetry] in 2.0.0: only the lock's own
        # message counts ("poetry.lock is not consistent" in 1.8, "changed significantly since
        # poetry.lock was last generated" in 2.x)
        return "stale" if "poetry.lock" in output else "current"
    return "current" if result.returncode == 0 else "stale"


def _uv_check(bin_dir: Path) -> str:
    """`uv lock --check` where the release has it; uv 0.5 spells it `--locked`."""
    help_text = subprocess.run([str(bin_dir / "uv"), "lock", "--help"], capture_output=True, text=True).stdout
    return "--check" if "--check " in help_text else "--locked"


def builder_verdict(app: Path, env: dict[str, str], scratch: Path) -> tuple[str, str]:
    """The builder's verdict, and the hashed requirements it installs from a current lock."""
    lock = make_plan(app).lock
    assert lock is not None
    scratch.mkdir(exist_ok=True)
    env = {**env, "UV_CACHE_DIR": str(scratch / "uv-cache")}  # as in the image: not the tools' cache
    try:
        locked = locks.export(lock, app, str(lockfiles.BIN / "uv"), sys.executable, env, scratch)
    except StaleLock as exc:
        assert exc.what == f"{lock.file} is out of date: it no longer matches {lock.checked_against}"
        assert exc.tip.startswith(f"Run `{lock.fix}` in the project folder")
        return "stale", ""
    return "current", locked.requirements.read_text()


Made = tuple[Path, Path, dict[str, str]]  # the tool's bin folder, the project, the tools' environment


def make(case: Case, tools: Callable[[str, str], Path], index: harness.Index, folder: Path) -> Made:
    bin_dir = tools(case.tool, case.release)
    app = lockfiles.copy_app(folder / "app")
    env = lockfiles.tool_env(index, folder / "home")
    options = {"index": index, "dependencies": ["s2i-shared"], **case.options}
    case.make(app, options.pop("index"), options.pop("dependencies"), env, bin_dir, **options)
    return bin_dir, app, env


NO_URLS = Case("pdm", lockfiles.PDM_NO_URLS, "pdm export --format pylock", lockfiles.pdm_export, {})


@pytest.fixture(scope="module")
def made(
    request: pytest.FixtureRequest, tools: Callable[[str, str], Path], index: harness.Index,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Future[Made]]:  # fmt: skip
    """The locks of the tests selected in this session, four made at a time: the tools mostly wait
    for the index and for the virtualenvs they create. Each test waits for its own (a failure is
    raised there)."""
    selected = {item.name for item in request.session.items}
    cases = [
        case
        for case in [*_cases(), *_writers(), NO_URLS]
        if any(name.endswith(f"[{case.id}]") for name in selected)
        or (case is NO_URLS and "test_a_pylock_without_file_urls_is_refused_naming_the_fix" in selected)
    ]
    for case in cases:  # installed one at a time, each once
        tools(case.tool, case.release)
    root = tmp_path_factory.mktemp("locks")
    with ThreadPoolExecutor(max_workers=4) as pool:
        return {case.id: pool.submit(make, case, tools, index, root / str(n)) for n, case in enumerate(cases)}


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
def test_the_builder_agrees_with_the_tool_that_wrote_the_lock(
    case: Case, made: dict[str, Future[Made]], index: harness.Index, shelf: Path, tmp_path: Path
) -> None:
    bin_dir, app, env = made[case.id].result()
    assert tool_verdict(case, bin_dir, app, index, env) == "current"
    verdict, requirements = builder_verdict(app, env, tmp_path / "scratch")
    assert verdict == "current"
    if case.stale_name == "Six":  # from the public index: whatever version was newest today
        assert requirements.startswith("six==")
    else:
        digest = hashlib.sha256((shelf / "s2i_shared-1.0-py3-none-any.whl").read_bytes()).hexdigest()
        assert f"s2i-shared==1.0 \\\n    --hash=sha256:{digest}\n" in requirements
        assert "\ns2i-base==1.0 " in f"\n{requirements}"
        # s2i-win is left out, or kept with its marker for the installer to skip
        assert all("win32" in r for r in requirements.splitlines() if r.startswith("s2i-win")), requirements
        assert "s2i-extra" not in requirements  # a custom category or a dev group is not installed
        assert "s2i-opt" not in requirements  # nobody asked for the extra

    lockfiles.stale(app, case.stale_name)
    assert tool_verdict(case, bin_dir, app, index, env) == "stale"
    assert builder_verdict(app, env, tmp_path / "scratch")[0] == "stale"


@pytest.mark.parametrize("case", _writers(), ids=lambda c: c.id)
def test_every_pylock_writer_is_read(
    case: Case, made: dict[str, Future[Made]], shelf: Path, tmp_path: Path
) -> None:
    _, app, env = made[case.id].result()
    assert "s2i-extra" not in (app / "pylock.toml").read_text()
    verdict, requirements = builder_verdict(app, env, tmp_path / "scratch")
    digest = hashlib.sha256((shelf / "s2i_shared-1.0-py3-none-any.whl").read_bytes()).hexdigest()
    assert verdict == "current"
    shared = next(r for r in requirements.split("\n") if r.startswith("s2i-shared"))
    assert shared.startswith(("s2i-shared==1.0 ", "s2i-shared @ http://127.0.0.1:")), shared
    assert f"--hash=sha256:{digest}\n" in requirements and "\ns2i-base" in f"\n{requirements}"
    assert all("win32" in r for r in requirements.splitlines() if r.startswith("s2i-win")), requirements


def test_a_pylock_without_file_urls_is_refused_naming_the_fix(
    made: dict[str, Future[Made]], tmp_path: Path
) -> None:
    """PDM 2.24.0 and 2.24.1 leave the wheels' URLs out of pylock.toml, which PEP 751 requires."""
    _, app, env = made[NO_URLS.id].result()
    with pytest.raises(ConfigError) as caught:
        builder_verdict(app, env, tmp_path / "scratch")
    assert caught.value.what.endswith("pylock.toml cannot be installed here: path or url must be provided in "
                                      "'packages[0].wheels[0]'")  # fmt: skip
    assert "regenerate pylock.toml with PDM 2.24.2 or later" in caught.value.tip
