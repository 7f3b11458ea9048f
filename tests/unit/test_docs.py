"""README is the user's first page: it stays short, and its variable tables name exactly the
variables `s2i usage` names (two texts, one list: this test holds them equal)."""

from __future__ import annotations

import re
from pathlib import Path

from builders import usage
from builders.config import ServiceType

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Words in capitals that are values, not variables
VALUES = {t.value for t in ServiceType} | {"REST", "JSON", "SIGTERM", "V2", "BYTES", "CONDA_PREFIX", "PATH",
          "LD_LIBRARY_PATH", "FP64", "KEY", "VALUE", "WARNING", "TIP", "ERROR"}  # fmt: skip
NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b(?:INSTALLER|PERSISTENCE)\b")


def names(text: str) -> set[str]:
    return {n for n in NAME.findall(text) if n not in VALUES}


def readme_section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def usage_section(title: str) -> str:
    return usage.text().split(title, 1)[1].split("\n\n", 1)[0]


def test_readme_is_short() -> None:
    assert len(README.splitlines()) <= 200


def test_build_variables_are_the_same_in_readme_and_usage() -> None:
    in_readme = names(readme_section("Build variables"))
    assert in_readme == names(usage_section("Build variables")), "README and usage differ"
    assert {"MODEL_NAME", "SERVICE_TYPE", "EXTRA_INDEX_URL", "INSTALLER"} <= in_readme


def test_runtime_variables_are_the_same_in_readme_and_usage() -> None:
    in_readme = names(readme_section("Runtime variables").split("\n\n", 1)[0])
    assert in_readme == names(usage_section("Runtime variables")), "README and usage differ"
    assert {"PREDICTIVE_UNIT_HTTP_SERVICE_PORT", "GUNICORN_WORKERS", "SELDON_S2I_V2_MODEL_NAME"} <= in_readme


def test_every_document_the_readme_links_exists() -> None:
    for link in re.findall(r"\]\(([^)#]+)\)", README):
        assert (ROOT / link).exists(), link
