"""builders.conda.install against a real conda channel served on 127.0.0.1 (no Docker): what lands in
the prefix, and the errors a user sees for an unsolvable spec, a wrong channel, and an unpinned Python."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from builders import conda
from builders.errors import ConfigError, StepError
from builders.layout import Layout
from tests import conda_channel

# A stand-in for a conda package of Python modules: it depends on `python`, which the channel has.
PYTHON = conda_channel.Package("python", "3.11.0", (), {"bin/python-stand-in": (b"", 0o644)})
NUMPY = conda_channel.Package("numpy-like", "1.0", ("python >=3.11",), {"share/numpy-like": (b"", 0o644)})


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    packages = (*conda_channel.PACKAGES, PYTHON, NUMPY)
    root = conda_channel.write_channel(tmp_path_factory.mktemp("conda") / "channel", packages)
    with conda_channel.serve_channel(root) as url:
        yield url


def install(tmp_path: Path, channels: list[str], specs: list[str]) -> tuple[list[str], Path]:
    env = conda.parse(f"channels: {channels}\ndependencies: {specs}\n", "environment.yml")
    plan = conda.decide(env, Layout(app_root=tmp_path / "app", conda=tmp_path / "app" / "conda"))
    return conda.install(env, plan, tmp_path / "cache"), plan.prefix


def test_specs_and_their_dependencies_land_in_the_prefix(tmp_path: Path, channel: str) -> None:
    installed, prefix = install(tmp_path, [channel], ["s2i-hello"])
    assert installed == ["s2i-greeting=1.0=0", "s2i-hello=2.1=0"]
    message = (prefix / "share" / "s2i-greeting" / "message.txt").read_text()
    assert message == f"{conda_channel.GREETING}\n"
    assert (prefix / "bin" / "s2i-hello").stat().st_mode & 0o111
    assert not (tmp_path / "app" / "src").exists()  # caches stay in the scratch folder


def test_unsolvable_spec_names_the_spec_and_the_channels(tmp_path: Path, channel: str) -> None:
    with pytest.raises(StepError) as caught:
        install(tmp_path, [channel], ["s2i-hello >=9"])
    assert caught.value.what.startswith(
        f"environment.yml: the conda specs s2i-hello >=9 cannot be solved for linux-64/noarch from "
        f"channels {channel}: Cannot solve the request because of: No candidates were found for "
        "s2i-hello >=9."
    )


def test_unreachable_channel_is_named(tmp_path: Path, channel: str) -> None:
    with pytest.raises(StepError, match=r"cannot read the package index of channels .*/nowhere"):
        install(tmp_path, [f"{channel}/nowhere"], ["s2i-hello"])


def test_python_pulled_in_without_a_pin_asks_for_one(tmp_path: Path, channel: str) -> None:
    with pytest.raises(ConfigError, match=r"the conda packages need python 3\.11\.0, but"):
        install(tmp_path, [channel], ["numpy-like"])
    assert not (tmp_path / "app" / "conda").exists()  # stopped before linking anything
