"""save-artifacts: what `s2i build --incremental` hands to the next assemble at /tmp/artifacts.

Only a note. Carrying the environment through s2i's stream measured slower than installing it afresh
(docs/incremental.md), so assemble reads the note, says in one line that it installs afresh, and
deletes it. Writes only a tar stream to stdout (s2i unpacks it); nothing else may reach stdout.
"""

from __future__ import annotations

import io
import tarfile
from typing import BinaryIO

NOTE = "s2i-incremental-note.txt"
TEXT = b"s2i build --incremental: this builder installs the dependencies afresh (docs/incremental.md)\n"


def save(out: BinaryIO) -> None:
    with tarfile.open(fileobj=out, mode="w|") as tar:
        info = tarfile.TarInfo(NOTE)
        info.size, info.mode = len(TEXT), 0o644
        tar.addfile(info, io.BytesIO(TEXT))
