"""builders.licenses: the licence a distribution declares (as the SBOM gives it) and the ones that
restrict production use (the build log warns about them), read from real dist-info metadata."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest

from builders import licenses, sbom


def dist(site: Path, name: str, *headers: str) -> metadata.Distribution:
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.4", f"Name: {name}", "Version: 1.0", *headers]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    return metadata.Distribution.at(info)


@pytest.mark.parametrize(
    ("headers", "declared"),
    [
        (["License-Expression: BUSL-1.1"], "BUSL-1.1"),
        (["License-Expression: MIT OR Apache-2.0", "License: ignored"], "MIT OR Apache-2.0"),
        (["License: Apache 2.0"], "Apache-2.0"),  # seldon-core's own spelling
        (["License: mit"], "MIT"),
        (["License: BSD"], "BSD"),  # a name that is no SPDX id stays a name
        (["License: UNKNOWN", "Classifier: License :: OSI Approved :: MIT License"], "MIT"),
        (["Classifier: License :: OSI Approved :: Apache Software License"], "Apache-2.0"),
        (
            [
                "Classifier: License :: OSI Approved :: MIT License",
                "Classifier: License :: OSI Approved :: Apache Software License",
            ],
            "MIT OR Apache-2.0",
        ),
        (["Classifier: License :: OSI Approved"], None),
        (["Classifier: License :: Other/Proprietary License"], "Other/Proprietary License"),
        ([], None),
    ],
)
def test_declared(tmp_path: Path, headers: list[str], declared: str | None) -> None:
    assert licenses.declared(dist(tmp_path, "pkg", *headers)) == declared


def test_a_pasted_licence_text_is_no_name(tmp_path: Path) -> None:
    pasted = "Copyright (c) 2024\n        \n        Redistribution ... for commercial purposes ..."
    info = dist(tmp_path, "pkg", f"License: {pasted}", "Classifier: License :: OSI Approved :: BSD License")
    assert licenses.declared(info) == "BSD License"
    assert licenses.restricting([info]) == []


def test_restricting_licences_are_found_and_permissive_ones_are_not(tmp_path: Path) -> None:
    dists = [
        dist(tmp_path, "busl", "License-Expression: BUSL-1.1"),
        dist(tmp_path, "bsl-spelled", "License: Business Source License 1.1"),
        dist(tmp_path, "sspl", "License-Expression: SSPL-1.0"),
        dist(tmp_path, "clause", "License: Apache-2.0 with Commons Clause"),
        dist(tmp_path, "closed", "Classifier: License :: Other/Proprietary License"),
        dist(tmp_path, "paid", "License: Commercial"),
        dist(tmp_path, "boost", "License-Expression: BSL-1.0"),  # the Boost licence: permissive
        dist(tmp_path, "apache", "License: Apache 2.0"),
    ]
    assert licenses.restricting(dists) == [
        ("busl", "1.0", "BUSL-1.1"),
        ("bsl-spelled", "1.0", "BUSL-1.1"),
        ("sspl", "1.0", "SSPL-1.0"),
        ("clause", "1.0", "Apache-2.0 with Commons Clause"),
        ("closed", "1.0", "Other/Proprietary License"),
        ("paid", "1.0", "Commercial"),
    ]


def test_the_sbom_gives_each_component_its_licence(tmp_path: Path) -> None:
    dist(tmp_path, "busl", "License-Expression: BUSL-1.1")
    dist(tmp_path, "either", "License-Expression: MIT OR Apache-2.0")
    dist(tmp_path, "named", "License: BSD")
    dist(tmp_path, "none")
    sbom.write([tmp_path], "MyModel", tmp_path / "sbom.cdx.json")
    components = {c["name"]: c for c in json.loads((tmp_path / "sbom.cdx.json").read_text())["components"]}
    assert components["busl"]["licenses"] == [{"license": {"id": "BUSL-1.1"}}]
    assert components["either"]["licenses"] == [{"expression": "MIT OR Apache-2.0"}]
    assert components["named"]["licenses"] == [{"license": {"name": "BSD"}}]
    assert "licenses" not in components["none"]
