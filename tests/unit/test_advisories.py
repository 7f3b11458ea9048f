"""builders/advisories.toml is well formed, and the rule that reads it is pinned."""

from __future__ import annotations

import datetime
import re
import tomllib

import pytest
from packaging.version import Version

from tests import advisories

CHECKED, ADVISORIES = advisories.load()
ID = r"CVE-\d{4}-\d{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3}|PYSEC-\d{4}-\d+"


def test_the_file_says_when_it_was_last_checked() -> None:
    checked = tomllib.loads(advisories.FILE.read_text())["checked"]
    assert isinstance(checked, datetime.date)


def test_every_entry_is_complete_and_names_its_source() -> None:
    assert ADVISORIES
    for advisory in ADVISORIES:
        assert re.fullmatch(ID, advisory.id), advisory.id
        assert advisory.fixed and advisory.summary
        assert advisory.source.startswith("https://") and advisory.id in advisory.source
    ids = [(a.package, a.id) for a in ADVISORIES]
    assert len(ids) == len(set(ids)), "an advisory is listed twice for one package"


def test_the_packages_the_issue_named_are_covered() -> None:
    """The releases seldon-core's 2023 pins held (builders/wrapper-lock.txt before this stack) are
    caught: each of these was in the old lock, with a published fix above it."""
    old = {"gunicorn": "20.1.0", "werkzeug": "2.2.3", "cryptography": "41.0.7", "urllib3": "1.26.20",
           "protobuf": "3.20.3"}  # fmt: skip
    found = advisories.findings(old, ADVISORIES)
    for package in old:
        assert any(line.startswith(f"{package} ") for line in found), package


@pytest.mark.parametrize(
    ("version", "fixed", "affected"),
    [
        ("6.31.0", ["4.25.8", "5.29.5", "6.31.1"], True),
        ("6.31.1", ["4.25.8", "5.29.5", "6.31.1"], False),
        ("5.29.5", ["4.25.8", "5.29.5", "6.31.1"], False),  # its line's fix
        ("5.28.3", ["4.25.8", "5.29.5", "6.31.1"], True),
        ("7.36.2", ["4.25.8", "5.29.5", "6.31.1"], False),  # above every fix
        ("1.26.20", ["1.26.19", "2.2.2"], False),
        ("2.2.1", ["1.26.19", "2.2.2"], True),
        ("20.1.0", ["22.0.0"], True),
    ],
)
def test_a_release_is_fixed_on_its_own_line_or_above_every_fix(
    version: str, fixed: list[str], affected: bool
) -> None:
    advisory = advisories.Advisory("p", "CVE-2000-0001", tuple(Version(v) for v in fixed), "s", "https://x")
    assert advisory.affects(Version(version)) is affected
