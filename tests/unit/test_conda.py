"""environment.yml / .yaml: parsing, the plan (layered prefix or conda Python as the app environment),
run's activation, and the installer command lines the plan leads to."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from builders import conda, conda_runtime, installers, run
from builders.errors import ConfigError
from builders.layout import Layout
from builders.manifest import Conda, Manifest
from builders.plan import plan as make_plan

LAYOUT = Layout()
VALID = """\
name: my-env
channels:
  - conda-forge
  - http://127.0.0.1:8000/channel
dependencies:
  - libsndfile=1.2
  - "curl >=8"
  - pip:
      - tabulate==0.9.0
"""


def test_valid_file() -> None:
    env = conda.parse(VALID, "environment.yml")
    assert env == conda.EnvironmentFile(
        filename="environment.yml",
        name="my-env",
        channels=("conda-forge", "http://127.0.0.1:8000/channel"),
        specs=("libsndfile=1.2", "curl >=8"),
        pip=("tabulate==0.9.0",),
    )
    assert not env.pins_python


def test_unused_keys_are_reported_not_fatal() -> None:
    env = conda.parse("channels: [c]\ndependencies: [a]\nprefix: /opt/x\nvariables: {A: 1}\n", "e.yml")
    assert env.ignored == ("prefix", "variables")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("channels: [c\ndependencies: [a]\n", "e.yml: is not valid YAML at line 2"),
        ("- a\n- b\n", "e.yml: must be a mapping with `channels` and `dependencies`, not ['a', 'b']"),
        ("", "e.yml: must be a mapping with `channels` and `dependencies`, not None"),
        (
            "dependencies: [a]\n",
            "e.yml: `channels` must be a non-empty list of channel names or URLs, not None",
        ),
        (
            "channels: []\ndependencies: [a]\n",
            "`channels` must be a non-empty list of channel names or URLs, not []",
        ),
        ("channels: conda-forge\ndependencies: [a]\n", "not 'conda-forge'"),
        ("channels: [c, 3]\ndependencies: [a]\n", "channel 3 in `channels` is not a channel name or URL"),
        ("channels: [c]\n", "e.yml: `dependencies` must be a list of conda match specs, not None"),
        ("channels: [c]\ndependencies: []\n", "e.yml: `dependencies` lists nothing to install"),
        (
            "channels: [c]\ndependencies: [3.11]\n",
            "dependency 3.11 in `dependencies` is neither a conda match",
        ),
        ("channels: [c]\ndependencies: [{conda: [a]}]\n", "dependency {'conda': ['a']} in `dependencies`"),
        ("channels: [c]\ndependencies: [{pip: tabulate}]\n", "dependency {'pip': 'tabulate'} in"),
        (
            "channels: [c]\ndependencies: [{pip: [1]}]\n",
            "`pip:` entry 1 in `dependencies` is not a requirement",
        ),
        ("name: [x]\nchannels: [c]\ndependencies: [a]\n", "`name` must be a string, not ['x']"),
    ],
)
def test_bad_files_are_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        conda.parse(text, "e.yml")
    assert message in caught.value.what
    assert caught.value.exit_code == 2
    assert caught.value.tip


def test_pip_only_file_is_allowed() -> None:
    env = conda.parse("channels: [c]\ndependencies:\n  - pip: [tabulate]\n", "e.yml")
    assert (env.specs, env.pip) == ((), ("tabulate",))
    assert conda.pip_requirements(env) == "tabulate\n"


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("python", "python"),
        ("python=3.11", "python"),
        ("python >=3.11,<3.12", "python"),
        ("conda-forge::python=3.11", "python"),
        ("Python", "python"),
        ("python-dateutil", "python-dateutil"),
        ("pythonnet", "pythonnet"),
        ("libsndfile", "libsndfile"),
    ],
)
def test_spec_name(spec: str, name: str) -> None:
    assert conda.spec_name(spec) == name


def test_invalid_match_spec_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "environment.yml").write_text("channels: [c]\ndependencies: ['numpy===>1']\n")
    with pytest.raises(ConfigError, match=r"dependency 'numpy===>1' is not a conda match spec"):
        conda.read(tmp_path, "environment.yml")


def test_both_files_is_an_error(tmp_path: Path) -> None:
    for name in conda.FILES:
        (tmp_path / name).write_text(VALID)
    with pytest.raises(ConfigError, match=r"has both environment\.yml and environment\.yaml"):
        make_plan(tmp_path)


def test_plan_reads_the_file_up_front_and_orders_installs(tmp_path: Path) -> None:
    (tmp_path / "environment.yaml").write_text(VALID)
    (tmp_path / "requirements.txt").write_text("requests\n")
    deps = make_plan(tmp_path)
    assert deps.environment is not None and deps.environment.specs == ("libsndfile=1.2", "curl >=8")
    assert deps.found == ("requirements.txt", "environment.yaml")
    assert deps.order() == [
        "environment.yaml conda packages",
        "environment.yaml pip section",
        "requirements.txt",
    ]


def test_plan_without_python_layers_the_prefix() -> None:
    plan = conda.decide(conda.parse(VALID, "e.yml"), LAYOUT)
    assert plan == conda.CondaPlan(
        prefix=Path("/opt/app-root/conda"),
        app_environment=False,
        python=Path("/opt/app-root/bin/python"),
        app_root=Path("/opt/app-root"),
    )


def test_plan_with_python_makes_the_conda_env_the_app_environment() -> None:
    env = conda.parse("channels: [c]\ndependencies: ['python=3.11', numpy]\n", "e.yml")
    assert env.pins_python
    plan = conda.decide(env, LAYOUT)
    assert plan == conda.CondaPlan(
        prefix=Path("/opt/app-root/conda"),
        app_environment=True,
        python=Path("/opt/app-root/conda/bin/python"),
        app_root=Path("/opt/app-root/conda"),
    )
    # seldon-core and the wrapper pins go into the conda Python
    request = installers.InstallRequest(
        python=str(plan.python), requirement_files=("/opt/s2i/wrapper-requirements.txt",)
    )
    assert installers.Uv("/opt/s2i/tools/bin/uv").install(request) == [
        "/opt/s2i/tools/bin/uv", "pip", "install", "--python", "/opt/app-root/conda/bin/python",
        "-r", "/opt/s2i/wrapper-requirements.txt",
    ]  # fmt: skip
    # and run serves from the conda environment
    recorded = Conda(str(plan.prefix), plan.app_environment)
    manifest = Manifest("0", "M", "MODEL", "MODEL", False, False, False, conda=recorded)
    root = conda_runtime.app_root(manifest.conda, LAYOUT.app_root)
    assert run.microservice_argv(manifest, run.ports({}), root)[0] == "/opt/app-root/conda/bin/python"


def test_app_root_without_conda_or_when_layered() -> None:
    assert conda_runtime.app_root(None, Path("/opt/app-root")) == Path("/opt/app-root")
    layered = Conda(prefix="/opt/app-root/conda", app_environment=False)
    assert conda_runtime.app_root(layered, Path("/opt/app-root")) == Path("/opt/app-root")


def test_describe_logs_what_where_and_in_which_order() -> None:
    env = conda.parse(VALID + "prefix: /x\n", "environment.yml")
    assert conda.describe(env, conda.decide(env, LAYOUT)) == [
        "environment.yml: conda packages libsndfile=1.2, curl >=8 from channels conda-forge, "
        "http://127.0.0.1:8000/channel into /opt/app-root/conda",
        "no python pinned: /opt/app-root/conda is layered onto the application environment "
        "(PATH, LD_LIBRARY_PATH, CONDA_PREFIX)",
        "then its pip section into /opt/app-root/bin/python: tabulate==0.9.0",
        "not used: prefix (the prefix is fixed at /opt/app-root/conda)",
    ]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"PATH": "/opt/app-root/bin:/usr/bin", "HOME": "/h"},
            {
                "PATH": "/c/bin:/opt/app-root/bin:/usr/bin",
                "LD_LIBRARY_PATH": "/c/lib",
                "CONDA_PREFIX": "/c",
                "HOME": "/h",
            },
        ),
        (
            {"PATH": "/c/bin:/usr/bin", "LD_LIBRARY_PATH": "/usr/local/lib:/c/lib", "CONDA_PREFIX": "/old"},
            {"PATH": "/c/bin:/usr/bin", "LD_LIBRARY_PATH": "/c/lib:/usr/local/lib", "CONDA_PREFIX": "/c"},
        ),
        ({}, {"PATH": "/c/bin", "LD_LIBRARY_PATH": "/c/lib", "CONDA_PREFIX": "/c"}),
    ],
)
def test_activate(environ: dict[str, str], expected: dict[str, str]) -> None:
    assert conda_runtime.activate("/c", environ) == expected
    assert conda_runtime.activate("/c", expected) == expected  # idempotent


def test_no_prefix_changes_nothing() -> None:
    environ = {"PATH": "/usr/bin"}
    assert conda_runtime.activate(None, environ) == environ


def test_run_activates_the_prefix_for_the_server() -> None:
    layered = Conda(prefix="/opt/app-root/conda", app_environment=False)
    manifest = Manifest("0", "M", "MODEL", "MODEL", False, False, False, conda=layered)
    child = run.child_environment(manifest, {"PATH": "/opt/app-root/bin:/usr/bin"})
    assert child == {
        "PATH": "/opt/app-root/conda/bin:/opt/app-root/bin:/usr/bin",
        "LD_LIBRARY_PATH": "/opt/app-root/conda/lib",
        "CONDA_PREFIX": "/opt/app-root/conda",
        "PAYLOAD_PASSTHROUGH": "false",
        "SELDON_S2I_SERVICE_TYPE": "MODEL",
    }
    assert "CONDA_PREFIX" not in run.child_environment(replace(manifest, conda=None), {})
