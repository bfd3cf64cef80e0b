"""Shopify webhooks: an HMAC-SHA256 of the raw body with the app's client secret."""

from __future__ import annotations

import base64
import hashlib
import hmac

from stackknack_cli.engine.webhooks import Request, Verdict, body_digest, parse_object

HMAC_HEADERS = ("x-shopify-hmac-sha256", "shopify-hmac-sha256")
# Shopify's newer "events" webhooks send the same headers without the X- prefix.
EVENT_HEADERS = (
    "x-shopify-event-id",
    "shopify-event-id",
    "x-shopify-webhook-id",
    "shopify-webhook-id",
)
TOPIC_HEADERS = ("x-shopify-topic", "shopify-topic")
ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/cancelled",
        "orders/edited",
        "refunds/create",
    }
)


def sign(body: bytes, secret: str) -> str:
    """Return the header value Shopify sends for ``body``: base64, not hex."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def is_signed(body: bytes, secret: str, given: str) -> bool:
    """Compare the given signature with ours in constant time."""
    return hmac.compare_digest(sign(body, secret).encode(), given.strip().encode())


class ShopifyVerifier:
    channel = "shopify"

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def verify(self, request: Request) -> Verdict:
        if request.method != "POST":
            return Verdict.refused(405)
        given = request.header(*HMAC_HEADERS)
        if not given or not is_signed(request.body, self._secret, given):
            return Verdict.refused()

        topic = request.header(*TOPIC_HEADERS)
        event_id = request.header(*EVENT_HEADERS) or body_digest(request.body)
        payload, problem = parse_object(request.body)
        details = {}
        if payload is not None and isinstance(payload.get("updated_at"), str):
            details["updated_at"] = payload["updated_at"]
        return Verdict(
            200,
            accepted=True,
            event_id=event_id,
            topic=topic,
            malformed=problem,
            details=details,
        )
