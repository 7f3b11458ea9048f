"""Request smuggling, tried with raw sockets against a served image (fixture request_counter).

gunicorn 20.1, which seldon-core 1.18.2's metadata pinned, answered both probes below with 200
(CVE-2024-1135). A request that frames its body two ways must never smuggle a second request to the
model: the fixture counts the predictions that reach it and reports the count as a tag. RFC 9112
(6.3) lets a server either refuse Content-Length with Transfer-Encoding, as gunicorn does (400), or
read the body by its Transfer-Encoding alone and close the connection after answering, as granian
does; either way the request hidden behind the chunked body is never read. Two Transfer-Encodings
that disagree are refused by both.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import harness

pytestmark = pytest.mark.docker

BODY = json.dumps({"data": {"ndarray": [[1, 2]]}}).encode()
CHUNKED = f"{len(BODY):x}\r\n".encode() + BODY + b"\r\n0\r\n\r\n"
SERVERS = {"granian": {}, "gunicorn": {"SELDON_S2I_SERVER": "gunicorn"}}


def request(headers: list[str], body: bytes) -> bytes:
    head = ["POST /api/v1.0/predictions HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    return ("\r\n".join(head + headers) + "\r\n\r\n").encode() + body


SMUGGLED = request([f"Content-Length: {len(BODY)}"], BODY)
PROBES = {
    # CL.TE: which header frames the body decides where the next (smuggled) request starts
    "content-length-and-chunked": request(
        [f"Content-Length: {len(CHUNKED + SMUGGLED)}", "Transfer-Encoding: chunked"], CHUNKED + SMUGGLED
    ),
    # TE.TE: two Transfer-Encoding headers that disagree
    "chunked-and-identity": request(["Transfer-Encoding: chunked", "Transfer-Encoding: identity"], CHUNKED),
}


def answer_to(port: int, raw: bytes) -> tuple[int, int]:
    """Send raw bytes on a new connection; the status code of the first response, and how many
    responses came before the server closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    assert status_line.startswith("HTTP/1."), f"no HTTP answer: {answer[:200]!r}"
    return int(status_line.split()[1]), answer.count(b"HTTP/1.1 ")


@pytest.fixture(scope="module", params=sorted(SERVERS))
def counter(built: Callable[[Path], str], request: pytest.FixtureRequest) -> Iterator[harness.Server]:
    with harness.serve(built(harness.FIXTURES / "request_counter"), env=SERVERS[request.param]) as server:
        yield server


def calls(server: harness.Server) -> int:
    """One more prediction, the ordinary way: the model's count of predictions, this one included."""
    reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1, 2]]}})
    assert reply.status_code == 200, reply.text
    return int(reply.json()["meta"]["tags"]["calls"])


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_ambiguous_framing_never_smuggles_a_request(counter: harness.Server, probe: str) -> None:
    before = calls(counter)
    status, responses = answer_to(counter.http, PROBES[probe])
    assert responses == 1  # the connection closed after one answer: the hidden request was not read
    assert status == 400 or (probe == "content-length-and-chunked" and status == 200), status
    # the ordinary prediction, plus the ambiguous one when it was read by its Transfer-Encoding
    assert calls(counter) == before + 1 + (status == 200)


def test_a_plain_chunked_request_is_served(counter: harness.Server) -> None:
    """The control: the same raw socket, one framing, gets 200 and reaches the model."""
    before = calls(counter)
    plain = request(["Transfer-Encoding: chunked", "Connection: close"], CHUNKED)
    assert answer_to(counter.http, plain) == (200, 1)
    assert calls(counter) == before + 2
