"""A small threaded HTTP server on 127.0.0.1 that the simulators share.

A simulator is a callable from ``Request`` to ``Response``; ``SimServer`` serves it on a
free loopback port in a background thread until ``stop``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_BODY_BYTES = 2 * 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    """Close the connection without answering (a simulated network failure)."""

    @classmethod
    def json(
        cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        all_headers = {"Content-Type": "application/json"}
        all_headers.update(headers or {})
        return cls(status, json.dumps(payload).encode("utf-8"), all_headers)


Handler = Callable[[Request], Response]


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle's algorithm and the
    # client's delayed ACK add about 40 ms to every answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return  # simulators stay quiet; the callers print what matters

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(Response.json({"error": "body too large"}, 413))
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self.server.count(request.method)
        if self.server.latency:
            # Outside the simulator's lock, as a platform's network time would be.
            time.sleep(self.server.latency)
        try:
            response = self.server.app(request)
        except Exception as exc:  # a simulator bug answers 500, like a platform fault
            response = Response.json({"error": f"simulator error: {exc!r}"}, 500)
        if response.drop:
            self.close_connection = True
            self.connection.close()
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], app: Handler, latency: float = 0.0
    ) -> None:
        super().__init__(address, _RequestHandler)
        self.app = app
        self.latency = latency
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()

    def count(self, method: str) -> None:
        with self._calls_lock:
            self.calls[method] += 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up before its answer (a killed or timed-out caller) is
        # what a platform sees every day; anything else is still printed.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class SimServer:
    """Serve ``app`` on 127.0.0.1 (port 0 picks a free one) in a background thread.

    ``latency`` seconds are waited before each request is handled, as a platform's
    own network and processing time would be (off by default; benchmarks set it).
    """

    def __init__(
        self,
        app: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        self._server = _Server((host, port), app, latency)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def calls(self) -> Counter[str]:
        """Requests received so far, by HTTP method (a copy)."""
        with self._server._calls_lock:
            return Counter(self._server.calls)

    def start(self) -> SimServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
