"""Index URLs and the credentials that reach a build: one parser, one set of rules.

A URL's user part is read as pip reads it (`netloc.rpartition("@")`, then the first `:`): `user:password@`
and a token alone (`TOKEN@`, as Gemfury and others issue them) are both credentials, percent-encoded
or not, with IPv6 hosts in brackets. Everything that shows, stores or hands over a URL goes through
`IndexUrl`: the log masks the user part by component (`redact_urls`), the host-side build command
hands credentials to assemble as a netrc (`netrc_text`) and keeps only `public()` URLs in the image.
Credentials injected as files are read by builders.injected. Nothing here logs: the callers say what
was used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from builders.errors import ConfigError
from builders.layout import IMAGE

# scheme://authority: the authority ends at the first / ? # or whitespace, so an `@` in a path
# (git+https://host/repo@v1.0) is never read as a user part.
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<authority>[^/?#\s'\"<>]*)")
MASK = "****"


@dataclass(frozen=True)
class IndexUrl:
    scheme: str  # "https://"
    user: str | None  # percent-decoded; with no password it is the token
    password: str | None  # percent-decoded; None when the URL has no `:` in its user part
    location: str  # host[:port] as written, IPv6 brackets kept
    rest: str = ""  # path, query and fragment, as written

    @classmethod
    def parse(cls, text: str) -> IndexUrl:
        match = _URL.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a URL")
        userinfo, at, location = match["authority"].rpartition("@")
        user = password = None
        if at:
            raw_user, colon, raw_password = userinfo.partition(":")
            user = unquote(raw_user)
            password = unquote(raw_password) if colon else None
        return cls(match["scheme"], user, password, location, text.strip()[match.end() :])

    @property
    def has_credentials(self) -> bool:
        return bool(self.user) or bool(self.password)

    @property
    def host(self) -> str:
        """The host name as netrc and the installers match it (no port, no brackets)."""
        return urlsplit(self.scheme + self.location).hostname or self.location

    def public(self) -> str:
        """The URL without its user part: what may be logged, stored and committed."""
        return f"{self.scheme}{self.location}{self.rest}"

    def redacted(self) -> str:
        """pip's spelling: `user:****@host` for a password, `****@host` for a token alone."""
        if not self.has_credentials:
            return self.public()
        shown = MASK if self.password is None else f"{quote(self.user or '', safe='')}:{MASK}"
        return f"{self.scheme}{shown}@{self.location}{self.rest}"

    def secrets(self) -> tuple[str, ...]:
        """The secret values in every spelling a tool might print (as decoded and as encoded)."""
        value = self.password if self.password is not None else self.user
        return tuple(dict.fromkeys((value, quote(value, safe="")))) if value else ()

    def netrc_line(self) -> str:
        """How the installers get this URL's credentials without the URL carrying them. A token
        alone becomes a login with no password: pip and uv then send `TOKEN:` as Basic auth, exactly
        what they send for `TOKEN@host`."""
        values = [v for v in (self.user, self.password) if v]
        if any(re.search(r"[\s\"']", v) for v in values):
            raise ConfigError(
                f"the credentials in {self.redacted()} hold a space or a quote, which a netrc file "
                "cannot carry",
                f"Inject a pip.conf with the URL instead (`-i ./secrets:{IMAGE.secrets}`).",
            )
        line = f"machine {self.host} login {self.user or ''}"
        return line + (f" password {self.password}" if self.password else "") + "\n"


def urls_in(text: str) -> list[IndexUrl]:
    return [IndexUrl.parse(match[0]) for match in _URL.finditer(text)]


def redact_urls(text: str) -> str:
    """`text` with the user part of every URL in it masked (by component, never by substring)."""
    return _URL.sub(lambda match: IndexUrl.parse(match[0]).redacted(), text)


def without_credentials(text: str) -> str:
    """`text` with the user part of every URL in it removed."""
    return _URL.sub(lambda match: IndexUrl.parse(match[0]).public(), text)


def netrc_text(values: Iterable[str]) -> str:
    """netrc lines for the credentials of every URL in `values` (each host once)."""
    lines = [url.netrc_line() for value in values for url in urls_in(value) if url.has_credentials]
    return "".join(dict.fromkeys(lines))


def secrets_of(urls: Iterable[str]) -> list[str]:
    return [secret for text in urls for url in urls_in(text) for secret in url.secrets()]
