"""Seldon Core s2i builders: what runs inside the builder images (assemble, run, usage,
save-artifacts). The host-side build command is the `builders.host` subpackage, never shipped in an image."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`builders.__version__`, read from the installed metadata when first asked: `run` never asks, and
    importing importlib.metadata would delay every server's start."""
    if name != "__version__":
        raise AttributeError(f"module 'builders' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("seldon-s2i-builders")
    except PackageNotFoundError:  # a source tree that was never installed (`pip install .` gives metadata)
        return "0+unknown"
