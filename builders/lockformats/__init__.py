"""One module per lock format: each checks its lock against the project file by the rule of the tool
that wrote it, and turns the lock's default dependencies into hashed requirement lines.
builders/locks.py keeps what is common to them: the precedence between lock files and the dispatch.

    uv        uv.lock: uv's own check and export (the builder runs uv)
    pylock    pylock.toml (PEP 751): packaging.pylock selects the packages; it records no inputs
    poetry    poetry.lock: Poetry's content-hash, by the rule of the release named in the lock's header
    pipenv    Pipfile.lock: pipenv's _meta.hash, read with plette (pipenv's own Pipfile library)

The helpers below are shared by the four.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from builders.errors import ConfigError


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}", "Fix the file (the message names the line)."
        ) from None


def read_json(path: Path, fix: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}", f"Run `{fix}` to rewrite it.") from None
    return data if isinstance(data, dict) else {}


def line(requirement: str, hashes: Sequence[str]) -> str:
    """One requirement in hash-checking mode: `name==version --hash=sha256:...`."""
    return requirement + "".join(f" \\\n    --hash=sha256:{h}" for h in hashes) + "\n"
