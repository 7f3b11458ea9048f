"""Seldon Core s2i builders: what runs inside the builder images (assemble, run, usage,
save-artifacts). The host-side build command is the `builders.host` subpackage, never shipped in an image."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seldon-s2i-builders")
except PackageNotFoundError:  # a source tree that was never installed (`pip install .` gives metadata)
    __version__ = "0+unknown"
