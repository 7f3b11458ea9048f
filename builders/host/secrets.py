"""Credentials in build variables, handed to assemble the way that leaves nothing in the image.

s2i keeps every -e value in the output image (its configuration, and the committed container's).
So the build command takes the user part of every URL in the build variables (`user:password@` or a
token alone), gives assemble a netrc at /opt/s2i/secrets/netrc instead, and the URLs without it.
The folder is private: 0700, files 0600, owned by the assemble user.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from builders import injected
from builders.host.upload import UPLOAD_GID, UPLOAD_UID
from builders.layout import IMAGE

SECRETS = str(IMAGE.secrets)  # where assemble looks for an injected netrc or pip.conf


def folder(injections: Iterable[tuple[Path, str]], target: Path, netrc: str) -> tuple[tuple[Path, str], ...]:
    """The injections, with SECRETS replaced by `target`: the user's own secrets folder (if any)
    copied there, its netrc (or .netrc) extended with `netrc`."""
    others = []
    for host, dest in injections:
        if dest.rstrip("/") == SECRETS:
            shutil.copytree(host, target, dirs_exist_ok=True)
        else:
            others.append((host, dest))
    existing = next((target / n for n in injected.NETRC_NAMES if (target / n).is_file()), None)
    before = existing.read_text(encoding="utf-8").rstrip("\n") + "\n" if existing else ""
    (target / "netrc").write_text(before + netrc, encoding="utf-8")
    _make_private(target)
    return (*others, (target, SECRETS))


def _make_private(target: Path) -> None:
    """0700/0600 for the assemble user. Without root the files cannot be given to that user, so they
    stay readable in the container; on the host they sit in a 0700 temporary folder of ours."""
    paths = [target, *target.rglob("*")]
    try:
        for path in paths:
            os.chown(path, UPLOAD_UID, UPLOAD_GID)
            path.chmod(0o700 if path.is_dir() else 0o600)
    except PermissionError:
        for path in paths:
            path.chmod(0o755 if path.is_dir() else 0o644)
