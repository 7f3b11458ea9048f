"""builders.python_version: which Python a source asks for, read from each file that can say so, and
the error that names the builder that fits. The Docker tests (tests/docker/test_pythons.py) show the
refusal end to end on a real image; these pin the parsing and the messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from builders import python_version, usage
from builders.errors import ConfigError, PythonMismatch, PythonRefused
from builders.plan import plan as make_plan

IMAGES = (
    "3.11 seldonio/seldon-core-s2i-python311:0.2.0\n"
    "3.13 seldonio/seldon-core-s2i-python313:0.2.0 seldonio/seldon-core-s2i-python3:0.2.0\n"
    "3.14 seldonio/seldon-core-s2i-python314:0.2.0\n"
)
PY311 = "seldonio/seldon-core-s2i-python311:0.2.0 (Python 3.11)"
PY313 = "seldonio/seldon-core-s2i-python313:0.2.0 (Python 3.13)"
PY314 = "seldonio/seldon-core-s2i-python314:0.2.0 (Python 3.14)"


def folder(tmp_path: Path, files: dict[str, str]) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    for name, text in files.items():
        (source / name).write_text(text)
    (tmp_path / "builders.txt").write_text(IMAGES)
    return source


def check(tmp_path: Path, files: dict[str, str], python: str) -> list[str]:
    return python_version.check(folder(tmp_path, files), tmp_path / "builders.txt", python)


# Every file that can name a Python, each excluding 3.11: the error names the file, the constraint,
# the image's Python and the builders that fit.
@pytest.mark.parametrize(
    ("files", "named", "fit"),
    [
        ({"pyproject.toml": '[project]\nname = "a"\nrequires-python = ">=3.13"\n'},
         "pyproject.toml (requires-python = '>=3.13')", [PY313, PY314]),
        ({".python-version": "3.13\n"}, ".python-version (version = '3.13')", [PY313]),
        ({".python-version": "# pyenv\n\ncpython@3.14.2\n"},
         ".python-version (version = 'cpython@3.14.2')", [PY314]),
        ({".python-version": ">=3.12\n"}, ".python-version (version = '>=3.12')", [PY313, PY314]),
        ({"Pipfile": '[packages]\n\n[requires]\npython_version = "3.13"\n'},
         "Pipfile ([requires] python_version = '3.13')", [PY313]),
        ({"Pipfile": '[requires]\npython_full_version = "3.14.0"\n'},
         "Pipfile ([requires] python_full_version = '3.14.0')", [PY314]),
        ({"uv.lock": 'version = 1\nrequires-python = ">=3.12, <3.14"\n'},
         "uv.lock (requires-python = '>=3.12, <3.14')", [PY313]),
        ({"pylock.toml": 'lock-version = "1.0"\nrequires-python = ">=3.14"\n'},
         "pylock.toml (requires-python = '>=3.14')", [PY314]),
    ],
)  # fmt: skip
def test_a_source_that_excludes_the_image_python_is_refused_naming_the_builders_that_fit(
    tmp_path: Path, files: dict[str, str], named: str, fit: list[str]
) -> None:
    with pytest.raises(PythonMismatch) as caught:
        check(tmp_path, files, "3.11.2")
    assert str(caught.value) == f"{named} excludes this image's Python 3.11.2"
    assert caught.value.fit == fit
    assert caught.value.tip.startswith(f"Use {' or '.join(fit)}: its Python fits.")
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("files", "python"),
    [
        ({"pyproject.toml": '[project]\nname = "a"\nrequires-python = ">=3.11"\n'}, "3.11.2"),
        ({".python-version": "3.13.1\n"}, "3.13.5"),  # a patch number compares by minor version
        ({"Pipfile": '[requires]\npython_full_version = "3.14.0"\n'}, "3.14.8"),
        ({"uv.lock": 'requires-python = ">=3.12"\n', "pyproject.toml": '[tool.black]\n'}, "3.14.8"),
        ({"Pipfile": '[requires]\npython_version = "*"\n'}, "3.11.2"),
    ],
)  # fmt: skip
def test_a_source_that_allows_the_image_python_builds_and_the_log_says_so(
    tmp_path: Path, files: dict[str, str], python: str
) -> None:
    lines = check(tmp_path, files, python)
    if '"*"' in str(files):
        assert lines == []
    else:
        assert lines[0].startswith(f"Python {python} satisfies ")


def test_a_source_that_names_nothing_builds_as_today(tmp_path: Path) -> None:
    assert check(tmp_path, {"requirements.txt": "six\n"}, "3.11.2") == []


def test_every_unmet_demand_is_named_and_the_fit_meets_them_all(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "a"\nrequires-python = ">=3.12"\n',
        ".python-version": "3.14\n",
    }
    with pytest.raises(PythonMismatch) as caught:
        check(tmp_path, files, "3.11.2")
    assert "pyproject.toml (requires-python = '>=3.12') and .python-version (version = '3.14')" in str(
        caught.value
    )
    assert caught.value.fit == [PY314]


def test_no_builder_fits_says_which_pythons_there_are(tmp_path: Path) -> None:
    with pytest.raises(PythonMismatch) as caught:
        check(tmp_path, {".python-version": "3.10\n"}, "3.13.5")
    assert caught.value.fit == []
    assert "No builder image has a Python that fits (they have Python 3.11, 3.13, 3.14)" in caught.value.tip


def test_a_python_version_that_is_not_cpython_is_noted_not_checked(tmp_path: Path) -> None:
    assert check(tmp_path, {".python-version": "pypy3.10\n"}, "3.11.2") == [
        ".python-version asks for 'pypy3.10': not a CPython version, not checked"
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"pyproject.toml": '[project]\nrequires-python = "3.13"\n'}, "is not a version specifier"),
        ({"Pipfile": '[requires]\npython_version = "three"\n'}, "is not a Python version"),
        ({"uv.lock": "requires-python = \n"}, "is not valid TOML"),
    ],
)  # fmt: skip
def test_an_unreadable_constraint_is_a_configuration_error(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        check(tmp_path, files, "3.11.2")


def test_plan_checks_the_python_first_but_not_for_a_conda_environment_with_its_own(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "a"\nversion = "1"\nrequires-python = ">=3.99"\n'
    source = folder(tmp_path, {"pyproject.toml": pyproject})
    with pytest.raises(PythonMismatch):
        make_plan(source)
    (source / "environment.yml").write_text("channels: [local]\ndependencies: ['python=3.99']\n")
    assert make_plan(source).conda is not None


# What the installers print when the interpreter, not a pin, refuses a requirement (uv 0.13, pip 26).
UV_OUTPUT = """\
  x No solution found when resolving dependencies:
  `-> Because the current Python version (3.11.2) does not satisfy Python>=3.12 and all versions of
      numpy>=2.5 depend on Python>=3.12, we can conclude that numpy>=2.5 cannot be used.
      And because you require numpy>=2.5, we can conclude that your requirements are unsatisfiable.
"""
PIP_OUTPUT = (
    (
        "ERROR: Ignored the following versions that require a different python version: "
        "2.5.0 Requires-Python >=3.12; 2.5.1 Requires-Python >=3.12\n"
    )
    + """\
ERROR: Could not find a version that satisfies the requirement numpy>=2.5 (from versions: 1.26.4, 2.4.6)
ERROR: No matching distribution found for numpy>=2.5
"""
)


@pytest.mark.parametrize("output", [UV_OUTPUT, PIP_OUTPUT])
def test_a_requirement_the_python_refuses_is_told_apart_from_a_pin_conflict(
    tmp_path: Path, output: str
) -> None:
    (tmp_path / "builders.txt").write_text(IMAGES)
    assert python_version.refused(output) == python_version.Refusal("numpy>=2.5", ">=3.12")
    with pytest.raises(PythonRefused) as caught:
        python_version.raise_if_refused(output, tmp_path / "builders.txt", python="3.11.2")
    assert str(caught.value).startswith("numpy>=2.5 needs Python >=3.12, and this image runs Python 3.11.2")
    assert caught.value.tip.startswith(f"Use {PY313} or {PY314}, or relax the requirement")
    # named as the application wrote it, with its file and line
    user = [("requirements.txt", 3, Requirement("NumPy >= 2.5"))]
    with pytest.raises(PythonRefused) as caught:
        python_version.raise_if_refused(output, tmp_path / "builders.txt", user, python="3.11.2")
    assert str(caught.value).startswith("NumPy>=2.5 (requirements.txt line 3) needs Python >=3.12")


def test_a_resolver_failure_of_another_kind_is_left_alone() -> None:
    output = (
        "Because you require numpy<2 and numpy>=2, we can conclude that your requirements are unsatisfiable."
    )
    assert python_version.refused(output) is None


def test_usage_names_the_image_python_and_every_builder(tmp_path: Path) -> None:
    (tmp_path / "builders.txt").write_text(IMAGES)
    text = usage.text(tmp_path / "no-notes", tmp_path / "builders.txt", "3.13.5")
    assert text.startswith("Seldon Core Python builder ") and "Python 3.13.5)" in text.splitlines()[0]
    assert "s2i build ./my-model seldonio/seldon-core-s2i-python3:0.2.0 my-model:0.1" in text
    assert (
        "One builder per Python:\n  Python 3.11: seldonio/seldon-core-s2i-python311:0.2.0\n"
        "  Python 3.13: seldonio/seldon-core-s2i-python313:0.2.0 = seldonio/seldon-core-s2i-python3:0.2.0\n"
        "  Python 3.14: seldonio/seldon-core-s2i-python314:0.2.0\n"
    ) in text
    text = usage.text(tmp_path / "no-notes", tmp_path / "builders.txt", "3.14.8")
    assert "s2i build ./my-model seldonio/seldon-core-s2i-python314:0.2.0 my-model:0.1" in text


def test_the_makefile_builds_the_pythons_this_module_names() -> None:
    """The Makefile (which images `make images` builds) and builders/python_version.py (which images an
    error names when /opt/s2i/builders.txt is absent) list the same Pythons and the same default."""
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert f"PYTHONS := {' '.join(python_version.PYTHONS)}\n" in makefile
    assert f"DEFAULT_PYTHON := {python_version.DEFAULT}\n" in makefile


def test_without_the_builders_file_the_published_names_are_used(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    for path in (tmp_path / "empty.txt", tmp_path / "absent.txt"):
        images = python_version.builders(path)
        assert sorted(images) == list(python_version.PYTHONS)
        assert images[python_version.DEFAULT][-1].startswith("seldonio/seldon-core-s2i-python3:")
