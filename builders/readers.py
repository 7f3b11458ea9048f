"""Reading the structured files a source folder holds (TOML, JSON): one place, one error for a file
that does not parse, naming it and the line."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from builders.errors import ConfigError


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}", "Fix the file; the message names the line."
        ) from None


def read_json(path: Path, fix: str) -> dict[str, Any]:
    """`fix`: the command that writes the file again (`pipenv lock`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}", f"Run `{fix}` to rewrite it.") from None
    return data if isinstance(data, dict) else {}
