"""Credentials injected as files (`s2i build -i ./secrets:/opt/s2i/secrets`): a netrc file and a pip.conf.

Both are used in place, never copied: the s2i CLI truncates injected files after assemble, so a copy
would be the only trace left. Each installer takes its variables from `Injected` (builders.installers).
The URLs in them are read by builders.credentials, like every other URL. Nothing here logs: assemble
says what was used.
"""

from __future__ import annotations

import configparser
import hashlib
import netrc
from dataclasses import dataclass
from pathlib import Path

from builders.credentials import IndexUrl, secrets_of
from builders.errors import ConfigError

NETRC_NAMES = ("netrc", ".netrc")


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


def read(folder: Path) -> Injected:
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
