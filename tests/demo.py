"""`make demo`: serve the model built from templates/model-template-app and show a real prediction."""

from __future__ import annotations

import json
import sys

from tests.harness import serve


def main(image: str) -> None:
    payload = {"data": {"ndarray": [[1.0, 2.0, 3.0]]}}
    with serve(image) as server:
        url = server.url("/api/v1.0/predictions")
        response = server.post("/api/v1.0/predictions", json=payload)
        response.raise_for_status()
        print(
            f"---> {image} is serving REST on {server.http}, gRPC on {server.grpc}, "
            f"metrics on {server.metrics}"
        )
        print(f"$ curl -s -H 'Content-Type: application/json' -d '{json.dumps(payload)}' {url}")
        print(json.dumps(response.json()))


if __name__ == "__main__":
    main(sys.argv[1])
