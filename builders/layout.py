"""Where things live inside the builder image and the images it builds (one place, documented)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The images' user and group (`USER 1001` in the Dockerfiles; group 0 for OpenShift's arbitrary UIDs).
USER_ID, GROUP_ID = 1001, 0


@dataclass(frozen=True)
class Layout:
    source: Path = Path("/tmp/src")  # s2i puts the source here (io.openshift.s2i.destination=/tmp)
    artifacts: Path = Path("/tmp/artifacts")  # s2i unpacks save-artifacts' stream here
    wheels: Path = Path("/whl")  # `s2i build -i ./wheels:/whl`
    app_root: Path = Path("/opt/app-root")  # the application virtualenv
    tools: Path = Path("/opt/s2i/tools")  # the builder's own environment (never shared)
    wrapper: Path = Path("/opt/s2i/wrapper-requirements.txt")  # keeps seldon-core working
    wrapper_wheels: Path = Path("/opt/s2i/wheels")  # seldon-core rebuilt for the stack (wrapperwheel.py)
    conda: Path = Path("/opt/app-root/conda")  # environment.yml's prefix (fixed: needs no relocation)
    builders: Path = Path(
        "/opt/s2i/builders.txt"
    )  # every builder's Python and image names (Dockerfile.python3)
    secrets: Path = Path("/opt/s2i/secrets")  # `s2i build -i ./secrets:/opt/s2i/secrets`: netrc, pip.conf
    usage_notes: Path = Path("/opt/s2i/usage.d")  # images built FROM a builder add notes here (.txt)

    @property
    def app_dir(self) -> Path:
        return self.app_root / "src"

    @property
    def python(self) -> Path:
        return self.app_root / "bin" / "python"

    @property
    def uv(self) -> Path:
        return self.tools / "bin" / "uv"

    @property
    def manifest(self) -> Path:
        """What assemble decided, read by `run` so the configuration is parsed once."""
        return self.app_root / "s2i-manifest.json"

    @property
    def sbom(self) -> Path:
        """The CycloneDX SBOM of the environment the server runs in (builders/sbom.py)."""
        return self.app_root / "sbom.cdx.json"

    @property
    def lock(self) -> Path:
        """The exact installed set (`name==version` per line), to rebuild an image identically."""
        return self.app_root / "requirements.lock"


IMAGE = Layout()
