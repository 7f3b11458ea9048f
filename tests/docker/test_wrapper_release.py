"""The wrapper the images ship (builders/wrapper.py): seldon-core 1.17.1 under Apache-2.0, rebuilt;
licences in every SBOM and a warning for a production-restricting one; the HTTP statuses of the
rebuilt wrapper; a class written for another component type."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from builders import python_version, wrapper
from tests import harness

pytestmark = pytest.mark.docker

SBOM = "/opt/app-root/sbom.cdx.json"
# What the builder images' two environments may not hold (builders/licenses.py decides), and where
# they are: the application environment and the builder's tools.
ENVIRONMENTS = ("/opt/app-root", "/opt/s2i/tools")
RESTRICTED = """
import glob, json, sys
from importlib import metadata
sys.path.insert(0, glob.glob("/opt/s2i/tools/lib/python3*/site-packages")[0])
from builders import licenses
found = {}
for root in sys.argv[1:]:
    site = glob.glob(root + "/lib/python3*/site-packages")
    found[root] = licenses.restricting(metadata.distributions(path=site))
print(json.dumps(found))
"""


def busl_wheel(folder: Path) -> Path:
    """acme-busl 1.0, a wheel whose metadata says `License-Expression: BUSL-1.1` (Metadata 2.4)."""
    files = {
        "acme_busl/__init__.py": b"def total(X):\n    return sum(sum(row) for row in X)\n",
        "acme_busl-1.0.dist-info/METADATA": (
            b"Metadata-Version: 2.4\nName: acme-busl\nVersion: 1.0\nLicense-Expression: BUSL-1.1\n"
        ),
        "acme_busl-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    rows = [
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for name, data in files.items()
    ]
    files["acme_busl-1.0.dist-info/RECORD"] = (
        "\n".join([*rows, "acme_busl-1.0.dist-info/RECORD,,"]) + "\n"
    ).encode()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "acme_busl-1.0-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return target


@pytest.fixture(scope="module")
def combiner(python3_builder: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.BuildResult]:
    # a folder of its own (mktemp's are 0700: the assemble user could not read the injected copy)
    wheels = busl_wheel(tmp_path_factory.mktemp("busl") / "wheels").parent
    image = harness.unique_tag("combiner-as-model")
    result = harness.build_ok(harness.FIXTURES / "combiner_as_model", image, inject=[f"{wheels}:/whl"])
    yield result
    harness.docker("rmi", "--force", image, check=False)


BUILDERS = [*python_version.PYTHONS, "ngraph-onnx"]  # one per Python (python313 is also python3), and onnx


def builder(name: str) -> str:
    return harness.ONNX_BUILDER if name == "ngraph-onnx" else harness.builder_image(name)


@pytest.mark.parametrize("which", BUILDERS)
def test_the_builder_images_ship_seldon_core_1_17_1_under_apache(
    which: str, python3_builder: str, onnx_builder: str
) -> None:
    image = builder(which)
    labels = json.loads(harness.docker("image", "inspect", image).stdout)[0]["Config"]["Labels"]
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["io.seldon.s2i.wrapper"] == wrapper.TITLE == "seldon-core 1.17.1 (Apache-2.0)"
    script = (
        "from importlib import metadata; d = metadata.distribution('seldon-core'); "
        "print(d.version, d.metadata['License'], 'Apache License' in d.read_text('LICENSE'), sep='|')"
    )
    shown = harness.docker("run", "--rm", image, "/opt/app-root/bin/python", "-c", script).stdout.decode()
    assert shown.strip() == "1.17.1+s2i|Apache 2.0|True"
    # no licence file or metadata under the Business Source License in the environments
    patterns = ["--include=LICEN[CS]E*", "--include=COPYING*", "--include=METADATA"]
    grep = ["grep", "-rlI", *patterns, "Business Source License", *ENVIRONMENTS]
    assert harness.docker("run", "--rm", image, *grep, check=False).stdout == b""
    # nor in the wheel cache every install finds the wrapper in
    script = (
        "import glob, zipfile; print([(w, n) for w in glob.glob('/opt/s2i/wheels/*.whl') "
        "for n in zipfile.ZipFile(w).namelist() if b'Business Source' in zipfile.ZipFile(w).read(n)])"
    )
    wheels = harness.docker("run", "--rm", image, "/opt/app-root/bin/python", "-c", script).stdout
    assert wheels.decode().strip() == "[]"
    usage = harness.s2i_usage(harness.docker("run", "--rm", image))
    python = harness.docker(
        "run", "--rm", image, "python3", "-c", "import platform; print(platform.python_version())"
    )
    assert f"(seldon-core 1.17.1 (Apache-2.0) wrapper, Python {python.stdout.decode().strip()})" in usage


@pytest.mark.parametrize("which", BUILDERS)
def test_no_builder_environment_holds_a_production_restricting_licence(
    which: str, python3_builder: str, onnx_builder: str
) -> None:
    image = builder(which)
    out = harness.docker(
        "run", "--rm", image, "/opt/s2i/tools/bin/python", "-I", "-c", RESTRICTED, *ENVIRONMENTS
    )
    found = json.loads(out.stdout)
    assert set(found) == set(ENVIRONMENTS)
    assert found == {root: [] for root in ENVIRONMENTS}


def test_a_busl_dependency_is_warned_about_and_every_sbom_component_has_a_licence(
    combiner: harness.BuildResult,
) -> None:
    warnings = [line.strip() for line in combiner.log.splitlines() if "restricts production use" in line]
    assert warnings == [
        "WARNING acme-busl 1.0 is licensed under 'BUSL-1.1', which restricts production use: check its "
        "terms before you deploy this image"
    ]
    sbom = json.loads(harness.docker("run", "--rm", combiner.image, "cat", SBOM).stdout)
    components = {c["name"]: c for c in sbom["components"]}
    assert components["acme-busl"]["licenses"] == [{"expression": "BUSL-1.1"}] or components["acme-busl"][
        "licenses"
    ] == [{"license": {"id": "BUSL-1.1"}}]
    assert components["seldon-core"]["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    licensed = [c for c in sbom["components"] if c.get("licenses")]
    assert len(licensed) >= 0.9 * len(sbom["components"]), [
        c["name"] for c in sbom["components"] if c not in licensed
    ]


def test_a_combiner_declared_as_a_model_builds_with_a_warning_and_aggregates(
    combiner: harness.BuildResult,
) -> None:
    assert (
        "WARNING class Combiner in /opt/app-root/src/Combiner.py has no predict() or predict_raw(), which "
        "SERVICE_TYPE=MODEL needs, but has aggregate() or aggregate_raw() of a COMBINER: it is built and "
        "serves that endpoint; set SERVICE_TYPE=COMBINER in .s2i/environment if it is one"
    ) in combiner.log
    request = {"seldonMessages": [{"data": {"ndarray": [[1, 2]]}}, {"data": {"ndarray": [[3, 4]]}}]}
    with harness.serve(combiner.image) as server:
        for path in ("/aggregate", "/api/v1.0/aggregate"):  # what the graph calls; what a user types
            reply = server.post(path, json=request)
            assert reply.status_code == 200, reply.text
            assert reply.json()["data"]["ndarray"] == [3, 7]


@pytest.fixture(scope="module")
def template_server(model_template_image: str) -> Iterator[harness.Server]:
    with harness.serve(model_template_image) as server:
        yield server


BODY = '{"data": {"ndarray": [[1.0, 2.0, 3.0]]}}'


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "reason"),
    [
        ("POST", "/api/v1.0/predictions", {"data": BODY}, 400, "MICROSERVICE_BAD_DATA"),  # no Content-Type
        ("POST", "/api/v1.0/predictions", {"data": BODY, "headers": {"Content-Type": "text/plain"}}, 400,
         "MICROSERVICE_BAD_DATA"),
        ("GET", "/predict", {}, 400, "MICROSERVICE_BAD_DATA"),  # no body at all
        ("GET", "/api/v1.0/predictions", {}, 405, "METHOD_NOT_ALLOWED"),
        ("POST", "/api/v1.0/no-such-path", {"json": json.loads(BODY)}, 404, "NOT_FOUND"),
        ("GET", "/no-such-path", {}, 404, "NOT_FOUND"),
        ("POST", "/api/v1.0/predictions", {"data": {"json": BODY}}, 200, None),  # form field json=
        ("POST", "/api/v1.0/predictions", {"json": json.loads(BODY)}, 200, None),  # application/json
    ],
)  # fmt: skip
def test_http_errors_keep_their_status_with_the_wrappers_body(
    template_server: harness.Server,
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
    reason: str | None,
) -> None:
    reply = requests.request(method, template_server.url(path), timeout=30, **kwargs)  # type: ignore[arg-type]
    assert reply.status_code == status, reply.text
    body = reply.json()
    if reason is None:
        assert body["data"]["ndarray"] == [[3.1]]  # the template's 0.5*1 - 0.25*2 + 1*3 + 0.1
    else:
        assert body["status"]["status"] == 1 and body["status"]["reason"] == reason, body
