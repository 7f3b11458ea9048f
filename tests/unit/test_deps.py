"""builders.deps and builders.plan: pure functions over files and installer output."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import deps, incremental
from builders.config import BuildConfig
from builders.errors import ConfigError
from builders.layout import Layout
from builders.plan import plan as make_plan


def test_logical_lines_join_continuations_and_drop_comments() -> None:
    text = "# top\ntabulate==0.9.0 \\\n    --hash=sha256:abc  # pinned\n\nsix#notacomment\n-r more.txt\n"
    assert deps.logical_lines(text) == [
        (2, "tabulate==0.9.0 --hash=sha256:abc"),
        (5, "six#notacomment"),
        (6, "-r more.txt"),
    ]


def test_includes_are_recursive_relative_and_loop_safe(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    (tmp_path / "requirements.txt").write_text(
        "-r reqs/base.txt\n--constraint=c.txt\n-c https://example.invalid/c.txt\nsix\n"
    )
    (tmp_path / "reqs" / "base.txt").write_text("--requirement ../shared.txt\n-rnested.txt\n")
    (tmp_path / "shared.txt").write_text("-r requirements.txt\n")  # a loop back to the root
    (tmp_path / "c.txt").write_text("six==1.17.0\n")
    found = deps.includes(tmp_path / "requirements.txt")
    root = tmp_path.resolve()
    assert found == [
        root / "reqs" / "base.txt",
        root / "shared.txt",
        root / "reqs" / "nested.txt",  # missing, listed anyway
        root / "c.txt",
    ]


def test_uses_hashes(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("six==1.17.0\n# --hash=sha256:in-a-comment\n")
    (tmp_path / "b.txt").write_text("six==1.17.0 \\\n  --hash=sha256:abc\n")
    assert not deps.uses_hashes([tmp_path / "a.txt", tmp_path / "missing.txt"])
    assert deps.uses_hashes([tmp_path / "a.txt", tmp_path / "b.txt"])


def test_changes_against_the_builder_environment() -> None:
    before = "numpy==1.26.4\nSix==1.16.0\nrequests==2.34.2\n"
    after = "numpy==1.26.4\nsix==1.17.0\ntabulate==0.9.0\nmy-model @ file:///opt/app-root/src\n"
    assert deps.changes(before, after) == [
        "+ my-model @ file:///opt/app-root/src",
        "- requests==2.34.2",
        "~ six 1.16.0 -> 1.17.0",
        "+ tabulate==0.9.0",
    ]


# --- plan.plan -------------------------------------------------------------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_plan_requirements_in_alone_is_compiled(tmp_path: Path) -> None:
    plan = make_plan(write(tmp_path, {"requirements.in": "tabulate\n"}))
    assert plan.requirements == "requirements.in" and plan.compile
    assert plan.order() == ["requirements.in (compiled to pinned requirements first)"]


def test_plan_names_every_file_and_the_order(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        {
            "requirements.txt": "-r reqs/base.txt\n-c constraints.txt\n",
            "reqs/base.txt": "tabulate \\\n  --hash=sha256:abc\n",
            "constraints.txt": "tabulate==0.9.0\n",
            "requirements.in": "tabulate\n",
            "setup.py": "",
            "pyproject.toml": "[build-system]\nrequires = ['setuptools']\n",
        },
    )
    plan = make_plan(source)
    assert plan.found == ("requirements.txt", "requirements.in", "setup.py", "pyproject.toml")
    assert plan.order() == [
        "requirements.txt (with reqs/base.txt, constraints.txt; hash-checking mode)",
        "the project (setup.py)",
    ]
    assert any("requirements.in is the source of requirements.txt" in note for note in plan.notes)
    assert any("setup.py and pyproject.toml describe one project" in note for note in plan.notes)


def test_fingerprint_follows_included_files(tmp_path: Path) -> None:
    outside = tmp_path / "shared.txt"
    outside.write_text("six==1.16.0\n")
    source = write(tmp_path / "src", {"requirements.txt": "-r ../shared.txt\n-c pins/c.txt\n"})
    write(source, {"pins/c.txt": "six<2\n"})
    layout = Layout(wrapper=tmp_path / "none", wheels=tmp_path / "none")
    cfg = BuildConfig(model_name="MyModel")
    first = incremental.fingerprint(source, cfg, layout, whole_tree=False)
    outside.write_text("six==1.17.0\n")
    second = incremental.fingerprint(source, cfg, layout, whole_tree=False)
    (source / "pins" / "c.txt").write_text("six<1.18\n")
    third = incremental.fingerprint(source, cfg, layout, whole_tree=False)
    assert len({first, second, third}) == 3


def test_plan_refuses_a_missing_include(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"includes reqs/absent\.txt \(with -r or -c\)"):
        make_plan(write(tmp_path, {"requirements.txt": "-r reqs/absent.txt\n"}))
