"""The class checks: static (before installing) and by import (the probe, run with this Python)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from builders import component
from builders.config import BuildConfig, ServiceType
from builders.errors import ComponentError


def write(tmp_path: Path, source: str, name: str = "MyModel.py") -> Path:
    path = tmp_path / name
    path.write_text(source)
    return path


def cfg(service_type: ServiceType = ServiceType.MODEL, name: str = "MyModel") -> BuildConfig:
    return BuildConfig(model_name=name, service_type=service_type)


@pytest.mark.parametrize(
    ("source", "service_type"),
    [
        ("class MyModel:\n    def predict(self, X, names): return X\n", ServiceType.MODEL),
        ("class MyModel(object):\n    def predict_raw(self, msg): return msg\n", ServiceType.MODEL),
        ("class MyModel:\n    async def route(self, X, names): return 0\n", ServiceType.ROUTER),
        ("class MyModel:\n    def score(self, X, names): return X\n", ServiceType.OUTLIER_DETECTOR),
        ("from base import Base\nclass MyModel(Base):\n    pass\n", ServiceType.MODEL),  # inherited
        ("from impl import MyModel\n", ServiceType.MODEL),  # re-exported
        ("class MyModel:\n    predict = staticmethod(lambda X, n: X)\n", ServiceType.MODEL),
    ],
)
def test_static_check_accepts(tmp_path: Path, source: str, service_type: ServiceType) -> None:
    component.check_source(write(tmp_path, source), cfg(service_type))


@pytest.mark.parametrize(
    ("source", "service_type", "fragment"),
    [
        ("class MyModel:\n  def predict(self)\n", ServiceType.MODEL, "MyModel.py line 2: syntax error"),
        (
            "class Other:\n    pass\n",
            ServiceType.MODEL,
            "defines no class MyModel (MODEL_NAME='MyModel'); it defines Other",
        ),
        (
            "\n\nclass MyModel:\n    def infer(self, X, n): return X\n",
            ServiceType.COMBINER,
            "line 3 has no aggregate() or aggregate_raw(), which SERVICE_TYPE=COMBINER needs",
        ),
    ],
)
def test_static_check_rejects(tmp_path: Path, source: str, service_type: ServiceType, fragment: str) -> None:
    with pytest.raises(ComponentError) as caught:
        component.check_source(write(tmp_path, source), cfg(service_type))
    assert fragment in caught.value.what


def test_import_check_finds_inherited_methods(tmp_path: Path) -> None:
    write(tmp_path, "class Base:\n    def predict(self, X, n): return X\n", "base.py")
    write(tmp_path, "from base import Base\nprint('noise on stdout')\nclass MyModel(Base):\n    pass\n")
    assert "predict" in component.check_import(sys.executable, tmp_path, cfg())


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("import no_such_module_4f1c\n", "ModuleNotFoundError: No module named 'no_such_module_4f1c'"),
        ("raise RuntimeError('boom')\n", "MyModel.py line 1: RuntimeError: boom"),
        ("class Other: pass\n", "module 'MyModel' defines no class 'MyModel' (classes there: Other)"),
        ("class MyModel:\n    def infer(self, X, n): return 0\n", "has no predict() or predict_raw()"),
    ],
)
def test_import_check_rejects(tmp_path: Path, source: str, fragment: str) -> None:
    write(tmp_path, source)
    with pytest.raises(ComponentError) as caught:
        component.check_import(sys.executable, tmp_path, cfg())
    assert fragment in caught.value.what


def test_another_component_types_method_builds_with_a_warning_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # seldon-core's alibi-detect-combiner example: SERVICE_TYPE=MODEL, only aggregate()
    path = write(tmp_path, "class MyModel:\n    def aggregate(self, Xs, names): return Xs[0]\n")
    component.check_source(path, cfg(ServiceType.MODEL))  # left to the import check
    assert capsys.readouterr().err == ""
    assert "aggregate" in component.check_import(sys.executable, tmp_path, cfg(ServiceType.MODEL))
    warning = capsys.readouterr().err
    assert "WARNING class MyModel in " in warning
    assert (
        "has no predict() or predict_raw(), which SERVICE_TYPE=MODEL needs, but has aggregate() or "
        "aggregate_raw() of a COMBINER: it is built and serves that endpoint; set SERVICE_TYPE=COMBINER "
        "in .s2i/environment if it is one"
    ) in warning


@pytest.mark.parametrize(
    ("service_type", "methods", "adapted"),
    [
        (ServiceType.OUTLIER_DETECTOR, ["score"], True),
        (ServiceType.OUTLIER_DETECTOR, ["score", "tags"], True),
        (ServiceType.OUTLIER_DETECTOR, ["score", "transform_input"], False),  # its own method wins
        (ServiceType.OUTLIER_DETECTOR, ["transform_input_raw"], False),
        (ServiceType.MODEL, ["predict", "score"], False),
    ],
)
def test_score_adapter_only_for_score_only_outlier_detectors(
    service_type: ServiceType, methods: list[str], adapted: bool
) -> None:
    assert component.needs_score_adapter(cfg(service_type), methods) is adapted
