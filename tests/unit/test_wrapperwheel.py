"""seldon-core rebuilt for the current stack (builders/wrapperwheel.py): the pure parts pinned, and the
real published wheel (which `make venv` downloads) rebuilt once with the grpcio-tools of the venv."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement

from builders import wrapper, wrapperpatches, wrapperwheel

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "builders" / "wrapper-requirements.txt"


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published wheel, fetched by name from the index and checked against its sha256."""
    return wrapperwheel.download(tmp_path_factory.mktemp("original"))


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("seldon_core/proto/prediction.proto", "proto/prediction.proto"),
        (
            "seldon_core/proto/tensorflow/core/framework/tensor.proto",
            "tensorflow/core/framework/tensor.proto",
        ),
    ],
)
def test_descriptor_names_are_the_ones_the_original_registered(path: str, name: str) -> None:
    assert wrapperwheel.descriptor_name(PurePosixPath(path)) == PurePosixPath(name)


def test_generated_imports_get_the_package_prefix() -> None:
    packages = {
        "proto": "seldon_core.proto",
        "tensorflow.core.framework": "seldon_core.proto.tensorflow.core.framework",
    }
    source = (
        "from google.protobuf import any_pb2 as any__pb2\n"
        "from tensorflow.core.framework import tensor_pb2 as tensor__pb2\n"
        "from proto import prediction_pb2 as proto_dot_prediction__pb2\n"
    )
    assert wrapperwheel.fix_imports(source, packages) == (
        "from google.protobuf import any_pb2 as any__pb2\n"
        "from seldon_core.proto.tensorflow.core.framework import tensor_pb2 as tensor__pb2\n"
        "from seldon_core.proto import prediction_pb2 as proto_dot_prediction__pb2\n"
    )


def test_metadata_gets_the_new_version_and_requirements_and_keeps_extras() -> None:
    original = (
        "Metadata-Version: 2.1\nName: seldon-core\nVersion: 1.17.1\nRequires-Dist: numpy (<2.0.0)\n"
        "Requires-Dist: tensorflow ; extra == 'all'\n\nlong description\n\nwith paragraphs\n"
    )
    assert wrapperwheel.metadata(original, ["numpy>=2,<3"]) == (
        "Metadata-Version: 2.1\nName: seldon-core\nVersion: 1.17.1+s2i\n"
        "Requires-Dist: tensorflow ; extra == 'all'\nRequires-Dist: numpy>=2,<3\n\n"
        "long description\n\nwith paragraphs\n"
    )


def test_requirements_leave_out_seldon_core_and_comments() -> None:
    text = "# why\nseldon-core==1.17.1\nnumpy>=2,<3  # inline\n\nflask>=3.1,<4\n"
    assert wrapperwheel.requirements(text) == ["numpy>=2,<3", "flask>=3.1,<4"]


def test_the_published_wheel_is_refused_when_it_differs(tmp_path: Path) -> None:
    fake = tmp_path / wrapper.WHEEL.filename
    fake.write_bytes(b"not the published wheel")
    with pytest.raises(SystemExit, match="not the published"):
        wrapperwheel.rebuild(fake, REQUIREMENTS, tmp_path / "out")


def test_the_real_wheel_rebuilt(tmp_path: Path, original: Path) -> None:
    wheel = wrapperwheel.rebuild(original, REQUIREMENTS, tmp_path)
    assert wheel.name == "seldon_core-1.17.1+s2i-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    info = "seldon_core-1.17.1+s2i.dist-info"
    # Apache-2.0, as published; upstream's unit tests are not installed into site-packages
    assert "License: Apache 2.0" in files[f"{info}/METADATA"].decode()
    assert "Apache License" in files[f"{info}/LICENSE"].decode()
    assert not [name for name in files if name.startswith("tests/")]
    assert files[f"{info}/top_level.txt"] == b"seldon_core\n"
    # every patch applied
    for edit in wrapperpatches.PATCHES:
        assert edit.new in files[edit.path].decode(), edit.why
    metadata = files[f"{info}/METADATA"].decode()
    declared = [
        str(Requirement(line.split(":", 1)[1]))
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert declared == [str(Requirement(r)) for r in wrapperwheel.requirements(REQUIREMENTS.read_text())]
    assert "numpy<2" not in metadata.replace(" ", "") and "protobuf<4" not in metadata.replace(" ", "")
    # every generated module regenerated: new-style gencode with the runtime check, prefixed imports
    generated = [name for name in files if name.endswith(("_pb2.py", "_pb2_grpc.py"))]
    assert len(generated) == 6
    for name in generated:
        text = files[name].decode()
        assert "from tensorflow." not in text and "from proto import" not in text, name
        if name.endswith("_pb2.py"):
            assert "ValidateProtobufRuntimeVersion" in text, name
    # RECORD lists every other file with its real hash
    rows = list(csv.reader(io.StringIO(files[f"{info}/RECORD"].decode())))
    assert {row[0] for row in rows} == set(files)
    for path, digest, _ in rows:
        if digest:
            expected = base64.urlsafe_b64encode(hashlib.sha256(files[path]).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}", path
    # the same inputs make the same wheel
    again = wrapperwheel.rebuild(original, REQUIREMENTS, tmp_path / "again")
    assert again.read_bytes() == wheel.read_bytes()


def test_the_venv_runs_the_rebuilt_protobuf_modules() -> None:
    """`make venv` installs the rebuilt wheel: its messages work with the protobuf installed here."""
    from importlib import metadata

    from seldon_core.proto import prediction_pb2

    assert metadata.version("seldon-core") == wrapper.VERSION
    message = prediction_pb2.SeldonMessage()
    message.data.tensor.shape.extend([1, 2])
    message.data.tensor.values.extend([1.0, 2.0])
    parsed = prediction_pb2.SeldonMessage.FromString(message.SerializeToString())
    assert list(parsed.data.tensor.values) == [1.0, 2.0]


def test_the_rebuilt_metadata_check_answers_as_jsonschema_validate() -> None:
    """The patched validate skips jsonschema's check of the schema: the schema must be valid, and
    every instance gets jsonschema.validate's verdict and message."""
    import jsonschema
    from seldon_core import metadata

    jsonschema.validators.validator_for(metadata.JSON_SCHEMA).check_schema(metadata.JSON_SCHEMA)
    good = {"name": "m", "versions": ["1"], "platform": "", "inputs": [], "outputs": [], "custom": {}}
    bad = [
        {**good, "custom": 3},
        {**good, "extra": 1},
        {**good, "versions": "1"},
        {**good, "inputs": [{"name": "x", "datatype": "BYTES", "shape": "a"}]},
    ]
    assert metadata.validate(good, metadata.JSON_SCHEMA) is None
    for instance in bad:
        with pytest.raises(jsonschema.ValidationError) as ours:
            metadata.validate(instance, metadata.JSON_SCHEMA)
        with pytest.raises(jsonschema.ValidationError) as theirs:
            jsonschema.validate(instance, metadata.JSON_SCHEMA)
        assert str(ours.value) == str(theirs.value)


METADATA_PROBE = """
import json, sys
from seldon_core import seldon_methods, wrapper
from seldon_core.metrics import SeldonMetrics

class Model:
    def predict(self, X, features_names=None):
        return X

wrapper.get_rest_microservice(Model(), SeldonMetrics())
print(json.dumps([seldon_methods.init_metadata(Model()), "jsonschema" in sys.modules, "yaml" in sys.modules]))
"""


@pytest.mark.parametrize(
    ("model_metadata", "expected"),
    [
        (None, {"name": "", "versions": [""], "platform": "", "inputs": [], "outputs": [], "custom": {}}),
        ("name: iris\nplatform: sklearn", {"name": "iris", "versions": [""], "platform": "sklearn",
                                           "inputs": [], "outputs": [], "custom": {}}),
        ("custom: 3", None),  # invalid: the wrapper logs it and serves no metadata, as upstream does
    ],
)  # fmt: skip
def test_metadata_is_validated_when_a_model_declares_it(model_metadata: str | None, expected: object) -> None:
    """Defaults alone are valid by construction: a model without metadata starts without importing
    jsonschema or yaml. MODEL_METADATA is read with yaml and validated, as before."""
    env = {k: v for k, v in os.environ.items() if k not in ("MODEL_METADATA", "PREDICTIVE_UNIT_IMAGE")}
    if model_metadata is not None:
        env["MODEL_METADATA"] = model_metadata
    result = subprocess.run(
        [sys.executable, "-c", METADATA_PROBE], env=env, check=True, capture_output=True, text=True
    )
    metadata, validated, read_yaml = json.loads(result.stdout.splitlines()[-1])
    assert metadata == expected
    assert validated is read_yaml is (model_metadata is not None)


HOT_PATH_EDITS = (
    "a body in memory reaches the server as a list",
    "the REST app answers with WholeBodyResponse",
    "flask-cors's answer without an Origin, without its matching",
    "the form is read only for a form body",
)


def test_the_hot_path_edits_answer_as_the_wrapper_without_them(tmp_path: Path) -> None:
    """The edits that shorten the REST hot path change no answer: the installed (rebuilt)
    wrapper and a copy with just those edits undone answer the same requests (tests/fixtures/
    hot_path/answers.py: JSON, forms, ?json=, multipart, CORS requests and preflights, errors) with
    the same status, headers in the same order, and body; flask-cors and werkzeug decide both."""
    import seldon_core

    edits = [edit for edit in wrapperpatches.PATCHES if edit.why in HOT_PATH_EDITS]
    assert len(edits) == len(HOT_PATH_EDITS)
    installed = Path(seldon_core.__file__).parent
    without = tmp_path / "without" / "seldon_core"
    shutil.copytree(installed, without, ignore=shutil.ignore_patterns("__pycache__"))
    for edit in edits:
        file = without.parent / edit.path
        file.write_text(file.read_text().replace(edit.new, edit.old))
    script = ROOT / "tests" / "fixtures" / "hot_path" / "answers.py"

    def answers(package_parent: Path) -> list[list[object]]:
        # one hash seed: werkzeug lists a route's methods (Allow) from a set
        env = {**os.environ, "PYTHONPATH": str(package_parent), "PYTHONHASHSEED": "0"}
        run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)

    ours, theirs = answers(installed.parent), answers(without.parent)
    assert ours == theirs
    # the requests reach both sides of each edit
    statuses = [status for status, _, _ in ours]
    assert statuses.count("200 OK") >= 8 and "400 BAD REQUEST" in statuses and "404 NOT FOUND" in statuses
    headers = [dict(pairs) for _, pairs, _ in ours]
    assert headers[0]["Access-Control-Allow-Origin"] == "*" and "Vary" not in headers[0]
    assert headers[1]["Access-Control-Allow-Origin"] == "https://app.example"
    assert headers[1]["Vary"] == "Origin"
    assert "Access-Control-Allow-Methods" in headers[4] and "Access-Control-Allow-Methods" in headers[7]
    assert json.loads(ours[8][2])["data"]["ndarray"] == [[2, 4]]


def test_a_body_in_memory_reaches_the_server_as_a_list() -> None:
    """What the WSGI server gets from the rebuilt app: a list for an answer held in memory (granian
    sends it at once), an empty one for HEAD, still an iterator for a body that streams, and a body
    Flask passes through untouched as it is."""
    from flask import stream_with_context
    from seldon_core.metrics import SeldonMetrics
    from seldon_core.wrapper import get_rest_microservice
    from werkzeug.test import EnvironBuilder

    class Model:
        def predict(self, X: object, features_names: object = None) -> object:
            return X

    app = get_rest_microservice(Model(), SeldonMetrics())

    @app.route("/stream")
    def stream() -> object:
        return app.response_class(stream_with_context(iter([b"a", b"b"])))

    passed_through = [b"as ", b"is"]

    @app.route("/passthrough")
    def passthrough() -> object:
        return app.response_class(passed_through, direct_passthrough=True)

    def call(**options: object) -> tuple[list[str], object]:
        status: list[str] = []
        body = app(EnvironBuilder(**options).get_environ(), lambda s, h, e=None: status.append(s))
        return status, body

    status, body = call(path="/api/v1.0/predictions", method="POST", json={"data": {"ndarray": [[1]]}})
    assert status == ["200 OK"] and isinstance(body, list)
    assert json.loads(b"".join(body))["data"]["ndarray"] == [[1]]
    status, body = call(path="/health/ping", method="HEAD")
    assert status == ["200 OK"] and body == []
    status, body = call(path="/stream")
    assert not isinstance(body, list) and b"".join(body) == b"ab"  # type: ignore[call-overload]
    body.close()  # type: ignore[attr-defined]
    status, body = call(path="/passthrough")
    assert status == ["200 OK"] and body is passed_through


def test_a_patch_whose_upstream_text_is_gone_stops_the_rebuild() -> None:
    files = {"seldon_core/wrapper.py": b"print('changed upstream')\n"}
    edit = wrapperpatches.Patch(
        "seldon_core/wrapper.py", "from flask_cors import CORS\n", "x", "import HTTPException"
    )
    with pytest.raises(
        SystemExit, match=r"patch 'import HTTPException': seldon_core/wrapper\.py does not contain"
    ):
        wrapperpatches.patch(files, (edit,))
    twice = wrapperpatches.Patch("seldon_core/wrapper.py", "e", "E", "ambiguous")
    with pytest.raises(SystemExit, match="ambiguous"):
        wrapperpatches.patch(files, (twice,))
    assert wrapperpatches.patch(
        files, (wrapperpatches.Patch("seldon_core/wrapper.py", "changed", "same", "ok"),)
    ) == {"seldon_core/wrapper.py": b"print('same upstream')\n"}
