"""A request uvicorn cannot parse gets a problem+json 400 with a request id, from either protocol."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import orjson
import pytest
import uvicorn
from fastapi import FastAPI

from shared.errors import PROBLEM_JSON
from shared.http import PROBLEM_HTTP_PROTOCOL, ProblemH11Protocol, ProblemHttpToolsProtocol
from tests.support.broker import free_port


@pytest.fixture(scope="module", params=[ProblemHttpToolsProtocol, ProblemH11Protocol, PROBLEM_HTTP_PROTOCOL])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    app = FastAPI()

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", http=request.param)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


async def _raw(port: int, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        response = await reader.read()  # the server closes after a 400
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
    return int(lines[0].split(b" ")[1]), headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET /ok HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
async def test_a_malformed_request_gets_a_problem_with_a_request_id(port: int, request_bytes: bytes) -> None:
    status, headers, body = await _raw(port, request_bytes)
    assert status == 400
    assert headers[b"content-type"] == PROBLEM_JSON.encode()
    problem = orjson.loads(body)
    assert problem["status"] == 400 and problem["type"].endswith("/bad-request")
    assert problem["request_id"] == headers[b"x-request-id"].decode()
    assert int(headers[b"content-length"]) == len(body)


async def test_a_well_formed_request_is_served_as_usual(port: int) -> None:
    status, _, body = await _raw(port, b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200 and orjson.loads(body) == {"status": "ok"}
