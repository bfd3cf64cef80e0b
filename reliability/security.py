"""Security: forged, replayed and unsigned webhooks; the bind address; body size.

Runs the real listener on 127.0.0.1 port 0. A replay (the same signed delivery sent
again) is answered 200, as Shopify's own re-deliveries must be, but stored once and
so read once; the figures count what got into the database.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx

from reliability.figures import Figure
from reliability.leaks import captured_logs, database_text, find
from reliability.profile import Profile
from stackknack_cli.engine import listener as listener_module
from stackknack_cli.engine.listener import Listener
from stackknack_cli.engine.webhooks import clover, shopify
from stackknack_cli.store import open_store

SECRET = "security-shopify-secret-3b9e"
CLOVER_AUTH = "security-clover-auth-d41c"


def _raw_post(port: int, head: str) -> int:
    """Send a request head by hand (for lengths httpx would not send); return status."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(head.encode())
        reply = conn.recv(200).decode(errors="replace")
    return int(reply.split()[1]) if reply.startswith("HTTP/") else 0


def run(profile: Profile, workdir: Path) -> Figure:
    figure = Figure("security (webhooks, bind, size, secrets)")
    db = workdir / "security.db"
    open_store(db).close()
    verifiers = {
        "shopify": shopify.ShopifyVerifier(SECRET),
        "clover": clover.CloverVerifier(CLOVER_AUTH),
    }
    with captured_logs() as logs:
        listener = Listener(db, verifiers, port=0).start()
        try:
            _attack(figure, listener)
        finally:
            listener.stop()
    figure.check(
        listener_module.DEFAULT_HOST == "127.0.0.1", "listener default is not loopback"
    )
    store = open_store(db)
    stored = store.scalar("SELECT count(*) FROM webhook_events")
    store.close()
    figure.check(stored == 2, f"{stored} events stored, expected the 2 genuine ones")
    figure.lost = 0
    figure.doubled = max(stored - 2, 0)
    leaks = find(
        {SECRET, CLOVER_AUTH},
        {"database": database_text(db), "logs": "\n".join(logs)},
    )
    figure.check(not leaks, f"secrets leaked: {leaks}")
    figure.runs = 1
    return figure


def _attack(figure: Figure, listener: Listener) -> None:
    base = listener.base_url
    figure.check(base.startswith("http://127.0.0.1:"), f"listener bound {base}")
    port = int(base.rsplit(":", 1)[1])
    body = json.dumps({"id": 1, "updated_at": "2030-01-01T00:00:00Z"}).encode()
    good = {
        "X-Shopify-Hmac-Sha256": shopify.sign(body, SECRET),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Event-Id": "genuine-1",
    }
    cases = {
        "genuine": ("shopify", body, good, 200),
        "replayed": ("shopify", body, good, 200),
        "forged": (
            "shopify",
            body,
            good | {"X-Shopify-Hmac-Sha256": shopify.sign(body, "guess")},
            401,
        ),
        "tampered": ("shopify", body + b" ", good | {"X-Shopify-Event-Id": "t"}, 401),
        "unsigned": ("shopify", body, {"X-Shopify-Topic": "orders/create"}, 401),
        "clover genuine": (
            "clover",
            b'{"merchants": {}}',
            {"X-Clover-Auth": CLOVER_AUTH},
            200,
        ),
        "clover forged": (
            "clover",
            b'{"merchants": {"m": []}}',
            {"X-Clover-Auth": "x"},
            401,
        ),
        "clover unsigned": ("clover", b'{"merchants": {"m": []}}', {}, 401),
        "unknown route": ("ebay", body, good, 404),
    }
    with httpx.Client(timeout=5, trust_env=False) as client:
        for name, (route, content, headers, wanted) in cases.items():
            got = client.post(
                f"{base}/webhooks/{route}", content=content, headers=headers
            )
            figure.events += 1
            if not figure.check(
                got.status_code == wanted, f"{name}: {got.status_code}"
            ):
                figure.wrong += 1
    oversized = listener_module.MAX_BODY_BYTES + 1
    status = _raw_post(
        port,
        "POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {oversized}\r\n\r\n",
    )
    figure.check(status == 413, f"oversized body answered {status}")
    status = _raw_post(
        port,
        "POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
    )
    figure.check(status == 411, f"body without a length answered {status}")
    figure.events += 2
    figure.notes.append(
        "genuine, replayed, forged, tampered and unsigned Shopify and Clover requests; "
        f"a {oversized:,}-byte claim; a chunked body; default bind checked"
    )
