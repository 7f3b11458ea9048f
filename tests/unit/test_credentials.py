"""builders.credentials: one parser for index URLs (pip's rules), redaction by URL component, the
netrc the build command hands to assemble, injected netrc/pip.conf; and the log that masks them."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import credentials, injected, installers, log
from builders.credentials import IndexUrl
from builders.errors import ConfigError


@pytest.mark.parametrize(
    ("url", "user", "password", "host", "public", "redacted"),
    [
        ("https://u:p@h.example/simple", "u", "p", "h.example",
         "https://h.example/simple", "https://u:****@h.example/simple"),
        ("https://TOKEN@h.example/pypi/", "TOKEN", None, "h.example",
         "https://h.example/pypi/", "https://****@h.example/pypi/"),
        ("http://ci:t%40k%3A1@127.0.0.1:8080/simple", "ci", "t@k:1", "127.0.0.1",
         "http://127.0.0.1:8080/simple", "http://ci:****@127.0.0.1:8080/simple"),
        ("http://u:p@[::1]:8080/simple", "u", "p", "::1",
         "http://[::1]:8080/simple", "http://u:****@[::1]:8080/simple"),
        ("https://a@b@h.example/s", "a@b", None, "h.example",  # the last @ ends the user part, as in pip
         "https://h.example/s", "https://****@h.example/s"),
        ("https://u:@h.example/s", "u", "", "h.example", "https://h.example/s", "https://u:****@h.example/s"),
        ("https://h.example/simple", None, None, "h.example", "https://h.example/simple",
         "https://h.example/simple"),
        ("git+https://h.example/repo@v1.0", None, None, "h.example",  # `@` in the path is no user
         "git+https://h.example/repo@v1.0", "git+https://h.example/repo@v1.0"),
    ],
)  # fmt: skip
def test_index_url_follows_pips_rules(
    url: str, user: str | None, password: str | None, host: str, public: str, redacted: str
) -> None:
    parsed = IndexUrl.parse(url)
    assert (parsed.user, parsed.password, parsed.host) == (user, password, host)
    assert parsed.public() == public
    assert parsed.redacted() == redacted


def test_secrets_and_netrc_lines_for_every_credential_form() -> None:
    token = IndexUrl.parse("https://TOK%2FEN@h.example/s")
    assert token.secrets() == ("TOK/EN", "TOK%2FEN")
    assert token.netrc_line() == "machine h.example login TOK/EN\n"  # pip and uv send `TOK/EN:`
    both = IndexUrl.parse("http://ci:t%40k@127.0.0.1:8080/simple")
    assert both.secrets() == ("t@k", "t%40k")
    assert both.netrc_line() == "machine 127.0.0.1 login ci password t@k\n"
    with pytest.raises(ConfigError, match="a netrc file cannot carry"):
        IndexUrl.parse("https://u:a%20b@h/s").netrc_line()


def test_netrc_text_and_without_credentials_over_build_variables() -> None:
    values = [
        "MyModel",
        "http://ci:t%40k@127.0.0.1:8080/simple https://a.example/s https://ci:t%40k@127.0.0.1/x",
        "https://TOKEN@g.example/pypi/",
    ]
    assert credentials.netrc_text(values) == (
        "machine 127.0.0.1 login ci password t@k\nmachine g.example login TOKEN\n"
    )
    assert credentials.without_credentials(values[1]) == (
        "http://127.0.0.1:8080/simple https://a.example/s https://127.0.0.1/x"
    )
    assert credentials.without_credentials(values[2]) == "https://g.example/pypi/"
    assert credentials.netrc_text(["MyModel", "https://a.example/s"]) == ""


def test_redaction_is_by_url_component_so_a_short_password_mangles_nothing() -> None:
    line = "$ uv pip install --extra-index-url https://u:a@h.example/simple -r a/requirements.txt"
    assert credentials.redact_urls(line) == (
        "$ uv pip install --extra-index-url https://u:****@h.example/simple -r a/requirements.txt"
    )
    assert credentials.redact_urls("Get https://TOKEN@h/x: 401") == "Get https://****@h/x: 401"


def test_log_masks_urls_and_hidden_values(capsys: pytest.CaptureFixture[str]) -> None:
    log.hide(["s3cr3t-value"])
    log.detail("index https://TOKEN123@h.example/simple and s3cr3t-value, not s3cr3t-values")
    err = capsys.readouterr().err
    assert err == "     index https://****@h.example/simple and ****, not s3cr3t-values\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[global]\nextra-index-url = https://u:p@a/simple\n  https://b/simple\ntrusted-host = a b\n",
         injected.PipConf(None, ("https://u:p@a/simple", "https://b/simple"), ("a", "b"))),
        ("[global]\nindex_url = https://x/simple\n[install]\nextra_index_url = https://y/simple\n",
         injected.PipConf("https://x/simple", ("https://y/simple",), ())),
        ("[global]\nindex-url = https://x/simple\n[install]\nindex-url = https://z/simple\n",
         injected.PipConf("https://z/simple", (), ())),
        ("[global]\ntimeout = 60\n", injected.PipConf()),
    ],
)  # fmt: skip
def test_parse_pip_conf(text: str, expected: injected.PipConf) -> None:
    assert injected.parse_pip_conf(text) == expected


def test_injected_netrc_and_pip_conf(tmp_path: Path) -> None:
    (tmp_path / "netrc").write_text(
        "machine 127.0.0.1 login builder password s3cr3t\nmachine other\n  login TOKEN42\n"
    )
    (tmp_path / "pip.conf").write_text("[global]\nextra-index-url = https://u:pw@i.example/simple\n")
    found = injected.read(tmp_path)
    assert found.netrc == tmp_path / "netrc" and found.pip_conf == tmp_path / "pip.conf"
    assert sorted(found.secrets) == ["TOKEN42", "pw", "s3cr3t"]  # a login beside a password is a name
    assert installers.Uv("uv").environment(found) == {"NETRC": str(tmp_path / "netrc")}
    assert installers.Pip("uv").environment(found) == {
        "NETRC": str(tmp_path / "netrc"),
        "PIP_CONFIG_FILE": str(tmp_path / "pip.conf"),
    }
    # the fingerprint follows the index, not the password
    before = found.fingerprint()
    (tmp_path / "pip.conf").write_text("[global]\nextra-index-url = https://u:other@i.example/simple\n")
    assert injected.read(tmp_path).fingerprint() == before
    (tmp_path / "pip.conf").write_text("[global]\nextra-index-url = https://j.example/simple\n")
    assert injected.read(tmp_path).fingerprint() != before
    assert injected.read(tmp_path / "absent") == injected.Injected()


def test_a_broken_pip_conf_is_named(tmp_path: Path) -> None:
    (tmp_path / "pip.conf").write_text("extra-index-url = https://x\n")
    with pytest.raises(ConfigError, match=r"pip\.conf is not a valid pip\.conf"):
        injected.read(tmp_path)
