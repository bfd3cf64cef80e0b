"""The webhook listener over real HTTP on 127.0.0.1: signatures, storage, limits."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stackknack_cli.engine.listener import MAX_BODY_BYTES, Listener
from stackknack_cli.engine.webhooks import clover, ebay, shopify
from stackknack_cli.sandbox.server import Response, SimServer
from stackknack_cli.store import Store
from tests.conftest import shared_path

SECRET = "shpss_test_secret"
CLOVER_AUTH = "clover-auth-code-1234"
TOKEN = "verification_token_0123456789_abcdefghijklmnop"
ENDPOINT = "https://sync.example.com/webhooks/ebay"
EBAY_VECTORS = ("specs", "ebay", "event-notification-nodejs-sdk", "test.json")


@pytest.fixture
def served(store: Store) -> Iterator[tuple[Listener, list[str]]]:
    notices: list[str] = []
    keys = {"fetches": 0}

    def key_for(kid: str):  # stands in for NotificationKeys in most tests
        keys["fetches"] += 1
        raise ebay.KeyUnavailableError("no key server in this test")

    listener = Listener(
        Path(store.path),
        {
            "shopify": shopify.ShopifyVerifier(SECRET),
            "clover": clover.CloverVerifier(CLOVER_AUTH),
            "ebay": ebay.EbayVerifier(TOKEN, ENDPOINT, key_for),
        },
        port=0,
        on_notice=notices.append,
    ).start()
    try:
        yield listener, notices
    finally:
        listener.stop()


def _events(store: Store) -> list[dict]:
    return store.query("SELECT channel, event_id, topic, status FROM webhook_events")


def _shopify_post(url: str, body: bytes, signature: str, *, new_headers: bool = False):
    prefix = "shopify-" if new_headers else "X-Shopify-"
    return httpx.post(
        url + "/webhooks/shopify",
        content=body,
        headers={
            prefix + "Hmac-Sha256": signature,
            prefix + "Topic": "orders/create",
            prefix + "Event-Id": "evt-1",
        },
    )


def test_shopify_signature_matches_the_vector_from_shopify_test_inputs() -> None:
    assert shopify.sign(b"{}", "API_SECRET_KEY") == (
        "+ihUB5l+D7QrohDEi/6NcBcJRyKssyWqos13LmnsBbs="
    )


@pytest.mark.parametrize("new_headers", [False, True])
def test_signed_shopify_event_is_stored_under_either_header_spelling(
    served, store: Store, new_headers: bool
) -> None:
    listener, _ = served
    body = b'{"id": 1, "updated_at": "2026-01-01T00:00:00Z"}'
    answer = _shopify_post(
        listener.base_url, body, shopify.sign(body, SECRET), new_headers=new_headers
    )
    assert answer.status_code == 200
    assert _events(store) == [
        {
            "channel": "shopify",
            "event_id": "evt-1",
            "topic": "orders/create",
            "status": "new",
        }
    ]


def test_wrong_or_missing_shopify_signature_gets_401_and_stores_nothing(
    served, store: Store
) -> None:
    listener, _ = served
    body = b'{"id": 1}'
    forged = _shopify_post(listener.base_url, body, shopify.sign(body, "other"))
    unsigned = httpx.post(listener.base_url + "/webhooks/shopify", content=body)
    assert (forged.status_code, unsigned.status_code) == (401, 401)
    assert _events(store) == []


def test_duplicate_delivery_is_acknowledged_and_stored_once(served, store) -> None:
    listener, _ = served
    body = b'{"id": 1}'
    for _ in range(3):
        assert (
            _shopify_post(
                listener.base_url, body, shopify.sign(body, SECRET)
            ).status_code
            == 200
        )
    assert len(_events(store)) == 1


def test_signed_but_malformed_event_is_kept_and_acknowledged(served, store) -> None:
    listener, _ = served
    body = b"not json at all"
    answer = _shopify_post(listener.base_url, body, shopify.sign(body, SECRET))
    assert answer.status_code == 200
    assert _events(store)[0]["status"] == "malformed"


def test_oversized_body_is_refused_unread(served, store) -> None:
    listener, _ = served
    body = b"x" * (MAX_BODY_BYTES + 1)
    answer = _shopify_post(listener.base_url, body, shopify.sign(body, SECRET))
    assert answer.status_code == 413
    assert _events(store) == []


def test_real_order_payload_from_shopify_docs_is_stored(served, store) -> None:
    sample = shared_path(
        "realdata",
        "shopify-webhook-examples",
        "metadatas",
        "2026-04",
        "orders",
        "create.json",
    )
    body = json.dumps(json.loads(sample.read_text())["response"]).encode()
    listener, _ = served
    answer = _shopify_post(listener.base_url, body, shopify.sign(body, SECRET))
    assert answer.status_code == 200
    assert _events(store)[0]["status"] == "new"


def test_clover_verification_code_is_answered_and_shown(served, store) -> None:
    listener, notices = served
    answer = httpx.post(
        listener.base_url + "/webhooks/clover",
        json={"verificationCode": "5220ecf5-7dea-4396-bOba-a1659c182887"},
    )
    assert answer.status_code == 200
    assert notices == ["clover verification code: 5220ecf5-7dea-4396-bOba-a1659c182887"]
    assert _events(store) == []


def test_clover_notification_needs_the_auth_code(served, store) -> None:
    listener, _ = served
    sample = {
        "appId": "APP",
        "merchants": {"M1": [{"objectId": "O:ORDER1", "type": "CREATE", "ts": 1}]},
    }
    url = listener.base_url + "/webhooks/clover"
    forged = httpx.post(url, json=sample, headers={"X-Clover-Auth": "guess"})
    unsigned = httpx.post(url, json=sample)
    good = httpx.post(url, json=sample, headers={"X-Clover-Auth": CLOVER_AUTH})
    assert (forged.status_code, unsigned.status_code, good.status_code) == (
        401,
        401,
        200,
    )
    assert [(e["channel"], e["topic"]) for e in _events(store)] == [("clover", "O")]


def test_ebay_challenge_is_answered_with_the_documented_hash(served) -> None:
    listener, _ = served
    answer = httpx.get(listener.base_url + "/webhooks/ebay?challenge_code=abc123")
    expected = hashlib.sha256(("abc123" + TOKEN + ENDPOINT).encode()).hexdigest()
    assert answer.status_code == 200
    assert answer.json() == {"challengeResponse": expected}


@pytest.fixture
def key_server() -> Iterator[tuple[str, list[str]]]:
    """A stand-in for eBay's Notification API key endpoint, on 127.0.0.1."""
    vectors = json.loads(shared_path(*EBAY_VECTORS).read_text())
    seen: list[str] = []

    def app(request):
        seen.append(request.path)
        kid = request.path.rsplit("/", 1)[-1]
        if request.header("authorization") != "Bearer app-token":
            return Response.json({"errors": []}, 401)
        if kid != "9936261a-7d7b-4621-a0f1-96ccb428af49":
            return Response.json({"errors": []}, 404)
        return Response.json(vectors["VALID"]["response"])

    server = SimServer(app).start()
    try:
        yield server.base_url, seen
    finally:
        server.stop()


def test_ebay_vectors_verify_and_the_key_is_fetched_once(store, key_server) -> None:
    vectors = json.loads(shared_path(*EBAY_VECTORS).read_text())
    base, seen = key_server
    with httpx.Client() as client:
        keys = ebay.NotificationKeys(client, base, lambda: "app-token")
        listener = Listener(
            Path(store.path),
            {"ebay": ebay.EbayVerifier(TOKEN, ENDPOINT, keys.get)},
            port=0,
        ).start()
        try:
            results = {}
            for case in ("VALID", "SIGNATURE_MISMATCH", "INVALID", "VALID"):
                body = json.dumps(
                    vectors[case]["message"], separators=(",", ":")
                ).encode()
                results.setdefault(case, []).append(
                    httpx.post(
                        listener.base_url + "/webhooks/ebay",
                        content=body,
                        headers={"X-EBAY-SIGNATURE": vectors[case]["signature"]},
                    ).status_code
                )
        finally:
            listener.stop()
    assert results == {
        "VALID": [204, 204],
        "SIGNATURE_MISMATCH": [401],
        "INVALID": [401],
    }
    assert len(seen) == 1  # cached after the first fetch
    assert [(e["topic"], e["status"]) for e in _events(store)] == [
        ("MARKETPLACE_ACCOUNT_DELETION", "new")
    ]


def test_ebay_body_with_spaces_verifies_on_its_compact_form(key_server) -> None:
    vectors = json.loads(shared_path(*EBAY_VECTORS).read_text())
    base, _ = key_server
    with httpx.Client() as client:
        keys = ebay.NotificationKeys(client, base, lambda: "app-token")
        verifier = ebay.EbayVerifier(TOKEN, ENDPOINT, keys.get)
        from stackknack_cli.engine.webhooks import Request

        verdict = verifier.verify(
            Request(
                "POST",
                "/webhooks/ebay",
                {},
                {"x-ebay-signature": vectors["VALID"]["signature"]},
                json.dumps(vectors["VALID"]["message"], indent=2).encode(),
            )
        )
    assert verdict.accepted
    assert verdict.status == 204


def test_unreadable_ebay_signature_header_gets_401(served, store) -> None:
    listener, _ = served
    junk = base64.b64encode(b'{"alg": "none"}').decode()
    answer = httpx.post(
        listener.base_url + "/webhooks/ebay",
        content=b"{}",
        headers={"X-EBAY-SIGNATURE": junk},
    )
    assert answer.status_code == 401
    assert _events(store) == []


def test_unknown_route_is_404(served) -> None:
    listener, _ = served
    assert (
        httpx.post(listener.base_url + "/webhooks/stockx", content=b"{}").status_code
        == 404
    )
