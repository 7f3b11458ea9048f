"""The upload into the assemble container, written as a stream: `src/...` owned by 1001:0, as s2i's
tar upload does, and the previous image's save-artifacts stream as one file beside it.

Files are copied in chunks straight into `docker cp`'s stdin, so a source folder with a weights file
of many gigabytes costs no more memory than one with a script.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import IO

UPLOAD_UID, UPLOAD_GID = 1001, 0
ARTIFACTS_TAR = "s2i-artifacts.tar"


def write(out: IO[bytes], source: Path, artifacts: Path | None = None) -> None:
    """`artifacts`: what `docker cp CONTAINER:FILE -` wrote, a tar stream holding one file."""
    with tarfile.open(fileobj=out, mode="w|") as tar:
        tar.add(source, arcname="src", filter=_owned)
        if artifacts is not None:
            _add_inner_file(tar, artifacts)


def _owned(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if info.name == "src/.git" or info.name.startswith("src/.git/"):
        return None  # a checkout's history is not part of the application
    info.uid, info.gid, info.uname, info.gname = UPLOAD_UID, UPLOAD_GID, "", ""
    info.mode |= 0o060 if not info.isdir() else 0o070
    return info


def _add_inner_file(tar: tarfile.TarFile, wrapped: Path) -> None:
    """Copy the one file of the tar at `wrapped` into `tar` as ARTIFACTS_TAR, owned by 1001:0."""
    with tarfile.open(wrapped, mode="r|") as outer:
        for member in outer:
            content = outer.extractfile(member) if member.isfile() else None
            if content is None:
                continue
            info = tarfile.TarInfo(ARTIFACTS_TAR)
            info.size, info.mode, info.uid, info.gid = member.size, 0o660, UPLOAD_UID, UPLOAD_GID
            tar.addfile(info, content)
            return
