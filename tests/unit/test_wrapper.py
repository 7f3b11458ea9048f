"""builders.wrapper: the release, its pins, and the conflict checks for requirements and locks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from builders import wrapper
from builders.errors import CommandError, LockConflict, WrapperConflict

ROOT = Path(__file__).resolve().parents[2]
PINS = """\
# Added to every dependency install.
seldon-core==1.17.1
# seldon-core 1.17.1 is built against the numpy 1 API.
numpy<2
# Its generated *_pb2 modules need protobuf 3.
protobuf>=3.20.2,<4
# seldon-batch-processor
click>=8.1,<9
"""
INSTALLED = {"numpy": "1.26.4", "protobuf": "3.20.3", "click": "8.5.1", "seldon-core": "1.17.1"}


def test_one_module_names_the_release() -> None:
    """wrapper-requirements.txt's seldon-core line, the builder images' labels and the README name what
    builders/wrapper.py says; no other module of builders/ spells the release."""
    pins = wrapper.pins((ROOT / "builders" / "wrapper-requirements.txt").read_text())
    assert str(pins["seldon-core"].requirement) == wrapper.REQUIREMENT == "seldon-core==1.17.1"
    assert wrapper.LICENSE == "Apache-2.0" and wrapper.VERSION == "1.17.1+s2i"
    dockerfile = (ROOT / "Dockerfile.python3").read_text()
    assert f'io.seldon.s2i.wrapper="{wrapper.TITLE}"' in dockerfile
    assert 'org.opencontainers.image.licenses="Apache-2.0"' in dockerfile
    assert wrapper.TITLE in (ROOT / "README.md").read_text()
    for path in (ROOT / "builders").rglob("*.py"):
        if path.name != "wrapper.py":
            assert not re.search(r"1\.1[78]\.\d", path.read_text()), f"{path} spells a release"


def test_pins_skip_what_is_not_a_requirement() -> None:
    pins = wrapper.pins("# why\nnumpy<2  # inline\n-c other.txt\n")
    assert list(pins) == ["numpy"] and str(pins["numpy"].requirement) == "numpy<2"
    assert pins["numpy"].why == "why"


def test_conflict_names_both_sides() -> None:
    user = [
        ("requirements.txt", 1, Requirement("numpy>=2")),
        ("requirements.txt", 2, Requirement("protobuf")),  # no specifier: no conflict
        ("base.txt", 3, Requirement("protobuf>=3.20")),  # allows the installed version
        ("base.txt", 4, Requirement("tabulate==0.9.0")),  # not pinned by the wrapper
    ]
    output = "Because you require numpy<2 and numpy>=2, we can conclude that ... unsatisfiable."
    found = wrapper.conflicts(user, wrapper.pins(PINS), INSTALLED, output)
    assert found == [
        wrapper.Conflict(
            "numpy>=2 (requirements.txt line 1)",
            "numpy<2 (seldon-core 1.17.1 is built against the numpy 1 API.)",
        )
    ]
    # the same requirement is no conflict when the resolver failed for another reason
    assert wrapper.conflicts(user, wrapper.pins(PINS), {}, "No solution: s2i-missing") == []


def test_every_contradicting_requirement_is_named_at_once() -> None:
    """seldon-core's kubeflow clean_text example pins click and numpy; uv stops at click."""
    user = [
        ("requirements.txt", 1, Requirement("click==7.1.2")),
        ("requirements.txt", 2, Requirement("numpy==2.1.0")),
        ("requirements.txt", 3, Requirement("protobuf<3.21")),  # overlaps the pin: not named
    ]
    output = "Because you require click==7.1.2 and click>=8.1,<9, we can conclude that ... unsatisfiable."
    found = wrapper.conflicts(user, wrapper.pins(PINS), INSTALLED, output)
    assert [c.user for c in found] == [
        "click==7.1.2 (requirements.txt line 1)",
        "numpy==2.1.0 (requirements.txt line 2)",
    ]


@pytest.mark.parametrize(
    ("one", "other", "disjoint"),
    [
        ("==1.19.1", ">=2,<3", True),
        ("<2", ">=2,<3", True),
        (">1.5,<2", ">=2,<3", True),
        ("<2.5", ">=2,<3", False),
        (">=2.1", ">=2,<3", False),
        ("~=2.3", ">=2,<3", False),
        ("==2.*", ">=2,<3", False),
    ],
)
def test_disjoint_specifiers(one: str, other: str, disjoint: bool) -> None:
    from packaging.specifiers import SpecifierSet

    assert wrapper.disjoint(SpecifierSet(one), SpecifierSet(other)) is disjoint


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("error: No solution found\n  cause: Because you require numpy<2 and numpy>=2, we can conclude x.",
         "Because you require numpy<2 and numpy>=2, we can conclude x."),
        ("  \u00d7 No solution found when resolving dependencies:\n  ╰─▶ Because foo==1 depends on numpy>=2.",
         "Because foo==1 depends on numpy>=2."),
        ("ERROR: Cannot install x\n\nThe conflict is caused by:\n    The user requested numpy>=2\n"
         "    The user requested (constraint) numpy<2\n\nTo fix this you could try",
         "The conflict is caused by: The user requested numpy>=2 The user requested (constraint) numpy<2"),
        ("ERROR: No matching distribution found for s2i-missing", ""),
    ],
)  # fmt: skip
def test_resolver_explanation(output: str, expected: str) -> None:
    assert wrapper.resolver_explanation(output) == expected


def guard(tmp_path: Path) -> wrapper.Guard:
    (tmp_path / "pins.txt").write_text(PINS)
    return wrapper.Guard(tmp_path / "pins.txt", INSTALLED)


def test_the_guard_turns_a_resolver_failure_into_one_error(tmp_path: Path) -> None:
    user = [
        ("requirements.txt", 1, Requirement("click==7.1.2")),
        ("requirements.txt", 2, Requirement("numpy>=2")),
    ]
    output = "Because you require click==7.1.2 and click>=8.1,<9, we can conclude that ... unsatisfiable."
    with pytest.raises(WrapperConflict) as caught, guard(tmp_path).check(user):
        raise CommandError(["uv", "pip", "install"], 1, output)
    assert caught.value.sides == [
        ("click==7.1.2 (requirements.txt line 1)", "click<9,>=8.1 (seldon-batch-processor)"),
        (
            "numpy>=2 (requirements.txt line 2)",
            "numpy<2 (seldon-core 1.17.1 is built against the numpy 1 API.)",
        ),
    ]
    assert "keep seldon-core 1.17.1 (Apache-2.0) serving" in caught.value.tip
    assert caught.value.what.count("contradicts the builder's pin") == 2
    # a failure the pins did not cause is left as it is
    with pytest.raises(CommandError), guard(tmp_path).check(user):
        raise CommandError(["uv"], 1, "No solution: s2i-missing")


def test_exact_and_held(tmp_path: Path) -> None:
    pins = guard(tmp_path)
    assert pins.exact() == ["seldon-core==1.17.1", "numpy==1.26.4", "protobuf==3.20.3", "click==8.5.1"]
    assert pins.held({"numpy": "1.26.3", "click": "8.2.0"}) == ["seldon-core==1.17.1", "protobuf==3.20.3"]


def test_a_locked_version_the_wrapper_excludes_names_both_sides(tmp_path: Path) -> None:
    with pytest.raises(LockConflict) as caught:
        guard(tmp_path).check_lock({"numpy": "2.1.0", "six": "1.17.0"}, "uv.lock", "uv lock")
    assert caught.value.sides == [
        ("numpy==2.1.0 (uv.lock)", "numpy<2 (seldon-core 1.17.1 is built against the numpy 1 API.)")
    ]
    assert "run `uv lock`" in caught.value.tip
    guard(tmp_path).check_lock({"numpy": "1.26.3"}, "uv.lock", "uv lock")  # 1.26.3 satisfies numpy<2


def installed(site: Path, name: str, version: str, *requires: str) -> None:
    """A minimal installed distribution: its dist-info METADATA, as importlib.metadata reads it."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    (info / "METADATA").write_text("\n".join(lines + [f"Requires-Dist: {r}" for r in requires]) + "\n")


def test_a_locked_version_breaking_a_requirement_of_the_wrapper_names_both_sides(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    installed(
        site, "seldon-core", "1.17.1", "Flask (<3.0.0,>=2.0.0)", "numpy (<2.0.0)", "tf ; extra == 'all'"
    )
    installed(site, "flask", "2.2.5")
    installed(site, "numpy", "2.1.0")  # the builder's own override of seldon-core's numpy<2
    newer = {"flask": "3.0.3", "numpy": "2.2.0", "tf": "9"}
    assert wrapper.lock_conflicts({}, newer, "uv.lock", [site]) == [
        ("flask==3.0.3 (uv.lock)", "Flask<3.0.0,>=2.0.0 (required by seldon-core 1.17.1)")
    ]
    assert wrapper.lock_conflicts({}, {"flask": "2.3.0"}, "uv.lock", [site]) == []
    # a lock that replaces seldon-core itself brings seldon-core's requirements along
    assert wrapper.broken_requirements([site], {"flask": "3.0.3", "seldon-core": "9.0"}, "uv.lock") == []
