"""The upload into the assemble container, written as a stream: `src/...` owned by 1001:0, as s2i's
tar upload does.

Files are copied in chunks straight into `docker cp`'s stdin, so a source folder with a weights file
of many gigabytes costs no more memory than one with a script.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import IO

from builders.layout import GROUP_ID, USER_ID

UPLOAD_UID, UPLOAD_GID = USER_ID, GROUP_ID


def write(out: IO[bytes], source: Path) -> None:
    with tarfile.open(fileobj=out, mode="w|") as tar:
        tar.add(source, arcname="src", filter=_owned)


def _owned(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if info.name == "src/.git" or info.name.startswith("src/.git/"):
        return None  # a checkout's history is not part of the application
    info.uid, info.gid, info.uname, info.gname = UPLOAD_UID, UPLOAD_GID, "", ""
    info.mode |= 0o060 if not info.isdir() else 0o070
    return info
