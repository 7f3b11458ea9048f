"""Installer command lines are pure functions; these tests pin them exactly."""

from __future__ import annotations

from pathlib import Path

from builders import installers
from builders.installers import InstallRequest

FULL = InstallRequest(
    python="/opt/app-root/bin/python",
    requirement_files=("/opt/s2i/wrapper-requirements.txt", "/opt/app-root/src/requirements.txt"),
    constraint_files=("/tmp/pins.txt",),
    find_links=("/whl",),
    extra_index_urls=("https://idx.example/simple",),
    trusted_hosts=("idx.example",),
)


def test_uv_install() -> None:
    assert installers.Uv("/opt/s2i/tools/bin/uv").install(FULL) == [
        "/opt/s2i/tools/bin/uv", "pip", "install", "--python", "/opt/app-root/bin/python",
        "--find-links", "/whl",
        "--extra-index-url", "https://idx.example/simple",
        "--allow-insecure-host", "idx.example",
        "-c", "/tmp/pins.txt",
        "-r", "/opt/s2i/wrapper-requirements.txt",
        "-r", "/opt/app-root/src/requirements.txt",
    ]  # fmt: skip


def test_pip_install() -> None:
    assert installers.Pip("/unused/uv").install(FULL) == [
        "/opt/app-root/bin/python", "-m", "pip", "install", "--no-cache-dir", "--no-input", "--no-compile",
        "--progress-bar", "off",
        "--find-links", "/whl",
        "--extra-index-url", "https://idx.example/simple",
        "--trusted-host", "idx.example",
        "-c", "/tmp/pins.txt",
        "-r", "/opt/s2i/wrapper-requirements.txt",
        "-r", "/opt/app-root/src/requirements.txt",
    ]  # fmt: skip


def test_offline_attempts() -> None:
    request = InstallRequest(python="py", packages=("/opt/app-root/src",), offline=True)
    assert installers.Uv("uv").install(request) == [
        "uv", "pip", "install", "--python", "py", "--offline", "/opt/app-root/src",
    ]  # fmt: skip
    assert installers.Pip("uv").install(request) == [
        "py", "-m", "pip", "install", "--no-cache-dir", "--no-input", "--no-compile", "--progress-bar", "off",
        "--no-index", "/opt/app-root/src",
    ]  # fmt: skip


def test_freeze_is_uvs_whatever_the_installer() -> None:
    assert installers.freeze("uv", "py") == ["uv", "pip", "freeze", "--python", "py"]


def test_wheel_pins(tmp_path: Path) -> None:
    for name in (
        "My_Pkg-1.2.0-py3-none-any.whl",
        "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "tool-2.0-1build-py3-none-any.whl",
        "README.txt",
    ):
        (tmp_path / name).write_text("")
    assert installers.wheel_pins(tmp_path) == ["my-pkg==1.2.0", "numpy==1.26.4", "tool==2.0"]


def test_hash_checking_and_index_url() -> None:
    request = InstallRequest(
        python="py",
        requirement_files=("/src/requirements.txt",),
        constraint_files=("/tmp/wrapper-installed.txt",),
        index_url="https://u:p@idx.example/simple",
        require_hashes=True,
    )
    assert installers.Uv("uv").install(request) == [
        "uv", "pip", "install", "--python", "py", "--require-hashes",
        "--index-url", "https://u:p@idx.example/simple",
        "-c", "/tmp/wrapper-installed.txt", "-r", "/src/requirements.txt",
    ]  # fmt: skip
    assert installers.Pip("uv").install(request)[9:] == [
        "--require-hashes",
        "--index-url", "https://u:p@idx.example/simple",
        "-c", "/tmp/wrapper-installed.txt", "-r", "/src/requirements.txt",
    ]  # fmt: skip


def test_uv_compile() -> None:
    request = InstallRequest(
        python="/opt/app-root/bin/python",
        requirement_files=("/opt/app-root/src/requirements.in",),
        constraint_files=("/opt/s2i/wrapper-requirements.txt",),
        find_links=("/whl",),
        extra_index_urls=("https://idx.example/simple",),
    )
    assert installers.Uv("uv").compile(request, "/tmp/s/requirements.txt") == [
        "uv", "pip", "compile", "--python", "/opt/app-root/bin/python", "--no-header", "--no-annotate",
        "--quiet", "--output-file", "/tmp/s/requirements.txt",
        "--find-links", "/whl",
        "--extra-index-url", "https://idx.example/simple",
        "-c", "/opt/s2i/wrapper-requirements.txt",
        "/opt/app-root/src/requirements.in",
    ]  # fmt: skip
