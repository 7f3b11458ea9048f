"""What licence an installed distribution declares, as an SPDX id or expression where it maps, and
whether that licence restricts production use.

Read from the installed metadata, first found wins: `License-Expression` (PEP 639, already SPDX), a
`License` field that is a name rather than a pasted licence text, then the `License ::` classifiers.
`builders.sbom` puts the result in every component; assemble warns about a restricting one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import metadata

from cyclonedx.spdx import fixup_id, is_expression

# `License` fields and classifiers as projects write them -> SPDX ids (a name not here, and not an SPDX
# id in another case, stays the name it is).
_NAMES = {
    "apache 2.0": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache license version 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "apache software license 2.0": "Apache-2.0",
    "mit license": "MIT",
    "the mit license": "MIT",
    "bsd-3-clause license": "BSD-3-Clause",
    "3-clause bsd license": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "bsd 3-clause": "BSD-3-Clause",
    "bsd 2-clause": "BSD-2-Clause",
    "psf": "PSF-2.0",
    "python software foundation license": "PSF-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "mpl 2.0": "MPL-2.0",
    "isc license": "ISC",
    "isc license (iscl)": "ISC",
    "the unlicense (unlicense)": "Unlicense",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
    "gnu lesser general public license v2 or later (lgplv2+)": "LGPL-2.0-or-later",
    "gnu general public license v2 (gplv2)": "GPL-2.0-only",
    "gnu general public license v3 (gplv3)": "GPL-3.0-only",
    "gnu affero general public license v3": "AGPL-3.0-only",
    "historical permission notice and disclaimer (hpnd)": "HPND",
    "zope public license": "ZPL-2.1",
    "business source license 1.1": "BUSL-1.1",
    "server side public license": "SSPL-1.0",
}
_CLASSIFIER = "License :: "
_PROPRIETARY_CLASSIFIER = "License :: Other/Proprietary License"
# BUSL/BSL 1.1, SSPL, Commons Clause, proprietary, commercial, non-commercial: production use needs a
# licence bought or is not granted. (BSL-1.0 alone is the Boost licence: permissive, not matched.)
_RESTRICTING = re.compile(
    r"BUSL|Business Source|\bBSL[- ]?1\.1|SSPL|Server Side Public|Commons Clause|Proprietary|Commercial",
    re.IGNORECASE,
)


def spdx(name: str) -> str:
    """`Apache 2.0` -> `Apache-2.0`, `mit` -> `MIT`; a valid expression stays; anything else as it is."""
    name = name.strip()
    return _NAMES.get(name.lower()) or fixup_id(name) or name


def declared(dist: metadata.Distribution) -> str | None:
    """The distribution's licence, or None when its metadata declares none."""
    meta = dist.metadata
    expression = meta["License-Expression"]
    if expression and expression.strip():
        return expression.strip()
    field = meta["License"]
    if field and "\n" not in field.strip() and len(field) <= 100 and field.strip().upper() != "UNKNOWN":
        return spdx(field)
    names = [spdx(c.rsplit(" :: ", 1)[-1]) for c in meta.get_all("Classifier") or [] if _is_licence(c)]
    if not names:
        return None
    if len(names) > 1 and all(is_expression(n) or fixup_id(n) for n in names):
        return " OR ".join(dict.fromkeys(names))
    return names[0]


def restricting(dists: Iterable[metadata.Distribution]) -> list[tuple[str, str, str]]:
    """(name, version, licence) of every distribution whose licence restricts production use."""
    found = []
    for dist in dists:
        licence = declared(dist) or ""
        classifiers = dist.metadata.get_all("Classifier") or []
        if _RESTRICTING.search(licence) or _PROPRIETARY_CLASSIFIER in classifiers:
            found.append((dist.metadata["Name"], dist.version, licence or _PROPRIETARY_CLASSIFIER))
    return found


def _is_licence(classifier: str) -> bool:
    """`License :: OSI Approved :: MIT License`, not the bare `License :: OSI Approved`."""
    return classifier.startswith(_CLASSIFIER) and classifier.rsplit(" :: ", 1)[-1] != "OSI Approved"
