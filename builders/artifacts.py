"""save-artifacts: what a later `s2i build --incremental` hands to assemble at /tmp/artifacts.

Writes only a tar stream to stdout (s2i unpacks it); logs go to stderr.
"""

from __future__ import annotations

import io
import json
import tarfile
from typing import BinaryIO

from builders.layout import IMAGE, Layout


def save(out: BinaryIO, layout: Layout = IMAGE) -> None:
    with tarfile.open(fileobj=out, mode="w|") as tar:
        if layout.manifest.is_file():
            tar.add(layout.manifest, arcname=layout.manifest.name)
        if layout.lock.is_file():
            tar.add(layout.lock, arcname=layout.lock.name)
        if not layout.manifest.is_file():
            note = json.dumps({"note": "no previous build"}).encode()
            info = tarfile.TarInfo("README.json")
            info.size = len(note)
            tar.addfile(info, io.BytesIO(note))
