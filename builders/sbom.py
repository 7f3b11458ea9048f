"""An SBOM in every output image: CycloneDX 1.6 JSON of the application environment.

Every distribution installed in the environment the server runs in (the seldon-core wrapper and its
dependencies included, and a conda prefix's Python packages when it is the application's Python)
becomes a `library` component with its package URL (pkg:pypi/name@version) and its declared licence
(builders/licenses.py: an SPDX id or expression where it maps, made by the library's LicenseFactory);
the `dependencies` graph follows each distribution's Requires-Dist. The document is written with
cyclonedx-python-lib (the CycloneDX project's own library) at PATH, which the builder image's label
LABEL names, so tools find it in every image built FROM this builder:

    docker run --rm my-model:0.1 cat /opt/app-root/sbom.cdx.json
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL
from packaging.markers import UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from builders import licenses
from builders.layout import GROUP_ID, IMAGE, USER_ID

PATH = IMAGE.sbom
LABEL = "io.seldon.s2i.sbom"  # set in Dockerfile.python3 to PATH


def distributions(site_packages: Sequence[Path]) -> list[metadata.Distribution]:
    """The distributions installed in these folders, first occurrence of a name wins (as on sys.path)."""
    seen: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions(path=[str(p) for p in site_packages]):
        name = dist.metadata["Name"]
        if name and canonicalize_name(name) not in seen:
            seen[canonicalize_name(name)] = dist
    return [seen[key] for key in sorted(seen)]


def document(dists: Iterable[metadata.Distribution], application: str, version: str | None = None) -> str:
    """The CycloneDX JSON text for `dists`, the application (the model's name) as the root."""
    bom = Bom()
    root = Component(name=application, version=version, type=ComponentType.APPLICATION, bom_ref=application)
    bom.metadata.component = root
    factory = LicenseFactory()
    components: dict[str, Component] = {}
    requires: dict[str, list[str]] = {}
    for dist in dists:
        name, ver = dist.metadata["Name"], dist.version
        key: str = canonicalize_name(name)
        declared = licenses.declared(dist)
        purl = PackageURL(type="pypi", name=key, version=ver)  # a local version's `+` becomes %2B
        component = Component(
            name=name,
            version=ver,
            type=ComponentType.LIBRARY,
            bom_ref=purl.to_string(),
            purl=purl,
            licenses=[factory.make_from_string(declared)] if declared else [],
        )
        bom.components.add(component)
        components[key] = component
        requires[key] = _requirements(dist.requires or [])
    bom.register_dependency(root, components.values())
    for key, component in components.items():
        bom.register_dependency(component, [components[n] for n in requires[key] if n in components])
    return str(JsonV1Dot6(bom).output_as_string(indent=2)) + "\n"


def _requirements(lines: Iterable[str]) -> list[str]:
    """Names a distribution requires unconditionally here (extras' requirements are left out)."""
    names: list[str] = []
    for line in lines:
        try:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                names.append(canonicalize_name(requirement.name))
        except (InvalidRequirement, UndefinedEnvironmentName):
            continue
    return names


def write(site_packages: Sequence[Path], application: str, target: Path = PATH) -> int:
    """Write the SBOM; returns how many components it lists."""
    dists = distributions(site_packages)
    target.write_text(document(dists, application), encoding="utf-8")
    return len(dists)


def write_builder(target: Path = PATH) -> None:
    """Run once when the builder image is built: the label names a file in the builder image too
    (its wrapper environment); assemble replaces it with the application's."""
    from builders.incremental import site_packages

    write([site_packages(target.parent)], "seldon-core-s2i-python3", target)
    target.chmod(0o664)
    shutil.chown(target, USER_ID, GROUP_ID)
