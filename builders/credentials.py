"""Index URLs and the credentials that reach a build: one parser, one set of rules.

A URL's user part is read as pip reads it (`netloc.rpartition("@")`, then the first `:`): `user:password@`
and a token alone (`TOKEN@`, as Gemfury and others issue them) are both credentials, percent-encoded
or not, with IPv6 hosts in brackets. Everything that shows, stores or hands over a URL goes through
`IndexUrl`: the log masks the user part by component (`redact_urls`), the host-side build command
hands credentials to assemble as a netrc (`netrc_text`) and keeps only `public()` URLs in the image.

Injected credentials (`s2i build -i ./secrets:/opt/s2i/secrets`): a netrc file and a pip.conf are used
in place, never copied (the s2i CLI truncates injected files after assemble, so a copy would be the
only trace left). No module here logs: the callers say what was used.
"""

from __future__ import annotations

import configparser
import hashlib
import netrc
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from builders.errors import ConfigError
from builders.layout import IMAGE

# scheme://authority: the authority ends at the first / ? # or whitespace, so an `@` in a path
# (git+https://host/repo@v1.0) is never read as a user part.
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<authority>[^/?#\s'\"<>]*)")
MASK = "****"
NETRC_NAMES = ("netrc", ".netrc")


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


# --- injected at /opt/s2i/secrets --------------------------------------------------------------------


@dataclass(frozen=True)
class PipConf:
    """What a pip.conf says about indexes: the part uv needs translated into its own settings."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()


def parse_pip_conf(text: str) -> PipConf:
    """[global] then [install] (the later section wins, as in pip); `-` and `_` spellings both work."""
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    values: dict[str, str] = {}
    for section in ("global", "install"):
        if parser.has_section(section):
            for key, value in parser.items(section):
                values[key.replace("_", "-")] = value
    return PipConf(
        index_url=values.get("index-url", "").strip() or None,
        extra_index_urls=tuple(values.get("extra-index-url", "").split()),
        trusted_hosts=tuple(values.get("trusted-host", "").split()),
    )


@dataclass(frozen=True)
class Injected:
    """What `-i ./secrets:/opt/s2i/secrets` brought; each installer takes its variables from it
    (builders.installers)."""

    netrc: Path | None = None
    pip_conf: Path | None = None
    settings: PipConf = PipConf()
    secrets: tuple[str, ...] = ()  # to mask in the log

    def fingerprint(self) -> str:
        """The index settings (without credentials) that decide what gets installed."""
        settings = self.settings
        urls = [
            IndexUrl.parse(u).public() for u in (settings.index_url or "", *settings.extra_index_urls) if u
        ]
        return hashlib.sha256("\n".join([*urls, *settings.trusted_hosts]).encode()).hexdigest()


def injected(folder: Path) -> Injected:
    netrc_file = next((folder / n for n in NETRC_NAMES if (folder / n).is_file()), None)
    conf = folder / "pip.conf"
    settings = PipConf()
    if conf.is_file():
        try:
            settings = parse_pip_conf(conf.read_text(encoding="utf-8"))
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{conf} is not a valid pip.conf: {str(exc).splitlines()[0]}",
                "Write an INI file with a [global] section, e.g. extra-index-url = https://...",
            ) from None
    urls = (settings.index_url or "", *settings.extra_index_urls)
    secrets = _netrc_secrets(netrc_file) if netrc_file else []
    return Injected(
        netrc=netrc_file,
        pip_conf=conf if conf.is_file() else None,
        settings=settings,
        secrets=tuple(secrets + secrets_of(urls)),
    )


def _netrc_secrets(path: Path) -> list[str]:
    """The passwords and accounts of a netrc file, and a login that has no password (a token), for
    the log to mask. A login beside a password is a user name and stays readable."""
    try:
        parsed = netrc.netrc(str(path))
    except (OSError, netrc.NetrcParseError):
        return []
    secrets: list[str] = []
    for login, account, password in parsed.hosts.values():
        secrets += [password, account] if password else [login, account]
    return [s for s in secrets if s]
