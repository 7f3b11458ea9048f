"""assemble leaves no setuid/setgid file and nothing world-writable in the application environment,
whatever modes the source or an installer brought (the Docker test checks whole images)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from builders import assemble


def test_assemble_takes_away_setuid_setgid_and_world_write(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir(mode=0o777)
    os.chmod(tmp_path / "src", 0o777)
    modes = {"src/tool": 0o6777, "src/data.txt": 0o666, ".lock": 0o666, "src/plain.py": 0o644}
    for name, mode in modes.items():
        (tmp_path / name).write_text("x")
        os.chmod(tmp_path / name, mode)
    assemble._make_group_writable(tmp_path)
    got = {name: stat.S_IMODE((tmp_path / name).stat().st_mode) for name in [*modes, "src"]}
    assert got == {
        "src/tool": 0o775,
        "src/data.txt": 0o664,
        ".lock": 0o664,
        "src/plain.py": 0o664,
        "src": 0o775,
    }
