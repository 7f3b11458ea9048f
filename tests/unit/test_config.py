"""`.s2i/environment` and the build environment: every edge case in one table."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import config
from builders.config import ServiceType
from builders.errors import ComponentError, ConfigError, EnvironmentFileError, InvalidValueError

PARSE_CASES = [
    ("MODEL_NAME=MyModel\n", {"MODEL_NAME": "MyModel"}),
    ("MODEL_NAME=MyModel", {"MODEL_NAME": "MyModel"}),  # no final newline
    ("MODEL_NAME=MyModel\r\nSERVICE_TYPE=ROUTER\r\n", {"MODEL_NAME": "MyModel", "SERVICE_TYPE": "ROUTER"}),
    ("# comment\n\n   \nMODEL_NAME=A\n", {"MODEL_NAME": "A"}),
    ("  # indented comment\nMODEL_NAME=A\n", {"MODEL_NAME": "A"}),
    ("EXTRA_INDEX_URL=https://u:p@host/simple?a=b\n", {"EXTRA_INDEX_URL": "https://u:p@host/simple?a=b"}),
    ("NAME=\n", {"NAME": ""}),
    ("NAME=a=b\n", {"NAME": "a=b"}),
    ('MODEL_NAME="MyModel"\n', {"MODEL_NAME": "MyModel"}),
    ("MODEL_NAME='MyModel'\n", {"MODEL_NAME": "MyModel"}),
    ("MODEL_NAME=\"My'\n", {"MODEL_NAME": "\"My'"}),  # unmatched quotes stay
    ("  MODEL_NAME = MyModel  \n", {"MODEL_NAME": "MyModel"}),
    ("A=1\nA=2\n", {"A": "2"}),  # the last one wins, as in a shell
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parse_env_file(text: str, expected: dict[str, str]) -> None:
    assert config.parse_env_file(text, ".s2i/environment") == expected


@pytest.mark.parametrize(
    ("text", "lineno"),
    [("MODEL_NAME MyModel\n", 1), ("A=1\n=value\n", 2), ("A=1\n\n1BAD=x\n", 3), ("export A=1\n", 1)],
)
def test_malformed_lines_name_file_and_line(text: str, lineno: int) -> None:
    with pytest.raises(EnvironmentFileError) as caught:
        config.parse_env_file(text, "src/.s2i/environment")
    assert caught.value.lineno == lineno
    assert f"src/.s2i/environment line {lineno}" in caught.value.what
    assert caught.value.exit_code == 2


def make_source(tmp_path: Path, env_file: str | None, files: tuple[str, ...] = ("MyModel.py",)) -> Path:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("class MyModel:\n    pass\n")
    if env_file is not None:
        (tmp_path / ".s2i").mkdir()
        (tmp_path / ".s2i" / "environment").write_text(env_file)
    return tmp_path


def test_defaults(tmp_path: Path) -> None:
    cfg = config.load(make_source(tmp_path, "MODEL_NAME=MyModel\n"), {})
    assert cfg == config.BuildConfig(model_name="MyModel")
    assert (cfg.module, cfg.class_name) == ("MyModel", "MyModel")


def test_process_environment_wins_over_the_file(tmp_path: Path) -> None:
    source = make_source(tmp_path, "MODEL_NAME=MyModel\nSERVICE_TYPE=MODEL\n")
    cfg = config.load(source, {"SERVICE_TYPE": "router", "PAYLOAD_PASSTHROUGH": '"yes"', "HOME": "/x"})
    assert cfg.service_type is ServiceType.ROUTER
    assert cfg.payload_passthrough is True


def test_everything_set(tmp_path: Path) -> None:
    source = make_source(tmp_path, None, ("shop/models/scaler.py",))
    cfg = config.load(
        source,
        {
            "MODEL_NAME": "shop.models.scaler.Scaler",
            "SERVICE_TYPE": "OUTPUT_TRANSFORMER",
            "EXTRA_INDEX_URL": "https://a/simple https://b/simple",
            "PIP_TRUSTED_HOST": "a,b",
            "INSTALLER": "pip",
            "PERSISTENCE": "1",
            "API_TYPE": "REST",
        },
    )
    assert cfg.module == "shop.models.scaler" and cfg.class_name == "Scaler"
    assert cfg.service_type.wrapper_name == "TRANSFORMER"
    assert cfg.extra_index_urls == ("https://a/simple", "https://b/simple")
    assert cfg.trusted_hosts == ("a", "b")
    assert cfg.installer == "pip" and cfg.persistence is True
    assert len(cfg.notices) == 2 and "legacy" in cfg.notices[0] and "API_TYPE='REST'" in cfg.notices[1]


def test_package_module_may_be_a_package(tmp_path: Path) -> None:
    source = make_source(tmp_path, "MODEL_NAME=pkg.Model\n", ("pkg/__init__.py",))
    assert config.module_file(source, config.load(source, {})) == source / "pkg" / "__init__.py"


@pytest.mark.parametrize(
    ("env", "error", "fragments"),
    [
        ({}, ConfigError, ["MODEL_NAME is not set", ".s2i/environment"]),
        ({"MODEL_NAME": "  "}, ConfigError, ["MODEL_NAME is not set"]),
        ({"MODEL_NAME": "my-model"}, InvalidValueError, ["MODEL_NAME='my-model'", "the build environment"]),
        (
            {"MODEL_NAME": "MyModel", "SERVICE_TYPE": "PREDICTOR"},
            InvalidValueError,
            ["SERVICE_TYPE='PREDICTOR'", "OUTLIER_DETECTOR"],
        ),
        (
            {"MODEL_NAME": "MyModel", "INSTALLER": "conda"},
            InvalidValueError,
            ["INSTALLER='conda'", "uv, pip"],
        ),
        (
            {"MODEL_NAME": "MyModel", "PAYLOAD_PASSTHROUGH": "maybe"},
            InvalidValueError,
            ["PAYLOAD_PASSTHROUGH='maybe'"],
        ),
        ({"MODEL_NAME": "Other"}, ComponentError, ["needs Other.py", "Python files present: MyModel.py"]),
    ],
)
def test_bad_values_are_named(
    tmp_path: Path, env: dict[str, str], error: type[ConfigError], fragments: list[str]
) -> None:
    with pytest.raises(error) as caught:
        config.load(make_source(tmp_path, None), env)
    for fragment in fragments:
        assert fragment in caught.value.what
    assert caught.value.tip
    assert caught.value.exit_code == 2


def test_value_from_the_file_is_attributed_to_the_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError) as caught:
        config.load(make_source(tmp_path, "MODEL_NAME=MyModel\nSERVICE_TYPE=nope\n"), {})
    assert str(tmp_path / ".s2i" / "environment") in caught.value.what


@pytest.mark.parametrize(
    ("service_type", "methods"),
    [
        (ServiceType.MODEL, (("predict", "predict_raw"),)),
        (ServiceType.ROUTER, (("route", "route_raw"),)),
        (ServiceType.TRANSFORMER, (("transform_input", "transform_input_raw"),)),
        (ServiceType.OUTPUT_TRANSFORMER, (("transform_output", "transform_output_raw"),)),
        (ServiceType.COMBINER, (("aggregate", "aggregate_raw"),)),
        (ServiceType.OUTLIER_DETECTOR, (("transform_input", "transform_input_raw", "score"),)),
    ],
)
def test_required_methods(service_type: ServiceType, methods: tuple[tuple[str, ...], ...]) -> None:
    assert service_type.required_methods == methods
