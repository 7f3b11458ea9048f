"""The environments of assemble's child processes, built in one place from typed inputs.

Every child starts from `BuildConfig.environment`, the process environment config.load() captured
(PATH, HOME, proxies, CA bundles, PIP_*/UV_* settings, and whatever the user's build or model import
reads), and adds what its role needs. Nothing here reads os.environ, and every result is a new dict.

    installers(): uv/pip, the lock export and the bytecode compiler: the chosen installer's
                  credential variables (builders.installers) and a cache in the build's scratch folder
    frozen():     the freeze recorded in the image: no cache at all (HOME is the app folder)
    application(): the application's interpreter importing the class, as `run` will serve it
                  (the conda prefix activated)
"""

from __future__ import annotations

from pathlib import Path

from builders import conda_runtime
from builders.config import BuildConfig
from builders.injected import Injected
from builders.installers import Installer


def installers(cfg: BuildConfig, installer: Installer, injected: Injected, scratch: Path) -> dict[str, str]:
    return {
        **dict(cfg.environment),
        **installer.environment(injected),
        "UV_CACHE_DIR": str(scratch / "uv-cache"),
        # The cache is this build's scratch folder, deleted right after: hard links make installing
        # and deleting it cheaper than copies, and no cache outlives them.
        "UV_LINK_MODE": "hardlink",
        "UV_PYTHON_DOWNLOADS": "never",
    }


def frozen(cfg: BuildConfig) -> dict[str, str]:
    # No cache: uv would otherwise leave one in HOME (the app folder), and so in the image.
    return {**dict(cfg.environment), "UV_NO_CACHE": "1", "PIP_NO_CACHE_DIR": "1"}


def application(cfg: BuildConfig, conda_prefix: str | None) -> dict[str, str]:
    """The interpreter and search paths the server will have (conda's bin/ and lib/ included)."""
    return conda_runtime.activate(conda_prefix, dict(cfg.environment))
