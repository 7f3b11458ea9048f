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

from collections.abc import Sequence


def line(requirement: str, hashes: Sequence[str]) -> str:
    """One requirement in hash-checking mode: `name==version --hash=sha256:...`."""
    return requirement + "".join(f" \\\n    --hash=sha256:{h}" for h in hashes) + "\n"
