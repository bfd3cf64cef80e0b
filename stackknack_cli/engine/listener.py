"""The embedded webhook listener: verify, store, answer; processing happens later.

Each platform has its route (``/webhooks/shopify``, ``/webhooks/clover``,
``/webhooks/ebay``). A request is verified on its raw body; a verified event is written
to ``webhook_events`` before the answer goes out, so an answer of 2xx means the event is
safe on disk. Duplicates (same event id) are answered 2xx and stored once. The listener
binds 127.0.0.1 unless told otherwise: a tunnel or reverse proxy exposes it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from stackknack_cli.engine.webhooks import Request, Verdict, Verifier, body_digest
from stackknack_cli.store.db import Store, iso, open_store, utcnow

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
MAX_BODY_BYTES = 1024 * 1024
READ_TIMEOUT_SECONDS = 10.0
ROUTE_PREFIX = "/webhooks/"


def record_event(store: Store, channel: str, verdict: Verdict, body: bytes) -> bool:
    """Store a verified event once; return False when its id was already stored."""
    status = "malformed" if verdict.malformed else "new"
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO webhook_events (channel, event_id, topic,"
            " received_at, body, status, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                channel,
                verdict.event_id or body_digest(body),
                verdict.topic,
                iso(utcnow()),
                body,
                status,
                verdict.malformed,
            ),
        )
    return cursor.rowcount == 1


class Listener:
    """A threaded HTTP server on ``host:port`` that stores verified webhook events.

    ``on_event`` is called (from a server thread) after a new event is stored;
    ``on_notice`` receives what the user must see, such as Clover's verification code.
    """

    def __init__(
        self,
        db_path: Path,
        verifiers: Mapping[str, Verifier],
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        on_event: Callable[[str], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.verifiers = dict(verifiers)
        self.on_event = on_event or (lambda channel: None)
        self.on_notice = on_notice or (lambda message: None)
        self._store = open_store(db_path)
        self._write_lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Listener:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="webhook-listener",
            daemon=True,
        )
        self._thread.start()
        log.info("listener: serving webhooks on %s", self.base_url)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._store.close()

    def handle(self, request: Request) -> tuple[int, bytes]:
        """Answer one request: verify, store when verified, return (status, body)."""
        channel = request.path.removeprefix(ROUTE_PREFIX).strip("/")
        verifier = self.verifiers.get(channel)
        if not request.path.startswith(ROUTE_PREFIX) or verifier is None:
            return 404, b""
        verdict = verifier.verify(request)
        if verdict.status == 401:
            log.warning(
                "listener: %s request refused: bad or missing signature", channel
            )
        if verdict.notice:
            self.on_notice(verdict.notice)
        if verdict.accepted:
            try:
                with self._write_lock:
                    fresh = record_event(self._store, channel, verdict, request.body)
            except sqlite3.Error as exc:
                log.error("listener: %s event not stored: %s", channel, exc)
                return 503, b""
            log.info(
                "listener: %s %s event %s%s",
                channel,
                verdict.topic or "unknown",
                "stored" if fresh else "seen before",
                " (malformed, kept)" if verdict.malformed else "",
            )
            if fresh and not verdict.malformed:
                self.on_event(channel)
        body = json.dumps(verdict.reply).encode() if verdict.reply is not None else b""
        return verdict.status, body


def _handler_for(listener: Listener) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = READ_TIMEOUT_SECONDS
        server_version = "stackknack"
        sys_version = ""

        def do_GET(self) -> None:
            self._serve(read_body=False)

        def do_POST(self) -> None:
            self._serve(read_body=True)

        def _serve(self, *, read_body: bool) -> None:
            body = b""
            if read_body:
                size = self.headers.get("Content-Length")
                if size is None or not size.isdigit():
                    self._answer(411, b"")
                    return
                if int(size) > MAX_BODY_BYTES:
                    self._answer(413, b"")
                    return
                body = self.rfile.read(int(size))
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                status, reply = listener.handle(request)
            except Exception:
                log.exception("listener: error while handling %s", parts.path)
                status, reply = 500, b""
            self._answer(status, reply)

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            if body:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("listener: " + format, *args)

    return Handler
