"""save-artifacts: the note that `s2i build --incremental` carries to the next assemble (the Docker
round trip is in tests/docker/test_incremental.py)."""

from __future__ import annotations

import io
import tarfile

from builders import artifacts


def test_save_artifacts_streams_one_note_and_nothing_else() -> None:
    out = io.BytesIO()
    artifacts.save(out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [artifacts.NOTE]
        assert tar.extractfile(members[0]).read() == artifacts.TEXT  # type: ignore[union-attr]
