"""Request smuggling, tried with raw sockets against a served image (fixture request_counter).

gunicorn 20.1, which seldon-core 1.18.2's metadata pinned, answered both probes below with 200
(CVE-2024-1135). A request that frames its body two ways must be refused before it reaches the model:
the fixture counts the predictions that reach it and reports the count as a tag.
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


def request(headers: list[str], body: bytes) -> bytes:
    head = ["POST /api/v1.0/predictions HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    return ("\r\n".join(head + headers) + "\r\n\r\n").encode() + body


PROBES = {
    # CL.TE: which header frames the body decides where the next (smuggled) request starts
    "content-length-and-chunked": request(
        [f"Content-Length: {len(CHUNKED)}", "Transfer-Encoding: chunked"], CHUNKED
    ),
    # TE.TE: two Transfer-Encoding headers that disagree
    "chunked-and-identity": request(["Transfer-Encoding: chunked", "Transfer-Encoding: identity"], CHUNKED),
}


def status_of(port: int, raw: bytes) -> int:
    """Send raw bytes on a new connection; the status code of the first response."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(raw)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    assert status_line.startswith("HTTP/1."), f"no HTTP answer: {answer[:200]!r}"
    return int(status_line.split()[1])


@pytest.fixture(scope="module")
def counter(built: Callable[[Path], str]) -> Iterator[harness.Server]:
    with harness.serve(built(harness.FIXTURES / "request_counter")) as server:
        yield server


def calls(server: harness.Server) -> int:
    """One more prediction, the ordinary way: the model's count of predictions, this one included."""
    reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1, 2]]}})
    assert reply.status_code == 200, reply.text
    return int(reply.json()["meta"]["tags"]["calls"])


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_ambiguous_framing_is_refused_before_the_model(counter: harness.Server, probe: str) -> None:
    before = calls(counter)
    assert status_of(counter.http, PROBES[probe]) == 400
    assert calls(counter) == before + 1  # only the ordinary prediction reached the model


def test_a_plain_chunked_request_is_served(counter: harness.Server) -> None:
    """The control: the same raw socket, one framing, gets 200 and reaches the model."""
    before = calls(counter)
    assert status_of(counter.http, request(["Transfer-Encoding: chunked"], CHUNKED)) == 200
    assert calls(counter) == before + 2
