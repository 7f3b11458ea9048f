"""save-artifacts: what a later `s2i build --incremental` hands to assemble at /tmp/artifacts.

Writes only a tar stream to stdout (s2i unpacks it); nothing else may reach stdout.
"""

from __future__ import annotations

import tarfile
from typing import BinaryIO

from builders import envpack, incremental
from builders.layout import IMAGE, Layout


def save(out: BinaryIO, layout: Layout = IMAGE) -> None:
    with tarfile.open(fileobj=out, mode="w|") as tar:
        for path in (layout.manifest, layout.lock, layout.app_root / incremental.FINGERPRINT):
            if path.is_file():
                tar.add(path, arcname=path.name)
        if (layout.app_root / incremental.FINGERPRINT).is_file():
            incremental.add_environment(tar, layout, text=not envpack.is_plain_file(out))
