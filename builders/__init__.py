"""Seldon Core s2i builders: configuration, installers, run command, usage and artifacts."""

from pathlib import Path

# VERSION sits beside the package, in the repository and in the image (/opt/s2i/lib/VERSION).
__version__ = (Path(__file__).resolve().parent.parent / "VERSION").read_text(encoding="utf-8").strip()
