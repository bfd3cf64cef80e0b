"""eBay notifications: the endpoint challenge and the ``X-EBAY-SIGNATURE`` check.

The signature is ECDSA with SHA-1 over the notification's JSON as eBay wrote it
(compact, no spaces), made with a key that the Notification API hands out by key id.
Keys are fetched once and cached for an hour.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from stackknack_cli.engine.webhooks import Request, Verdict, parse_object
from stackknack_cli.errors import ChannelUnavailableError

log = logging.getLogger(__name__)

KEY_TTL_SECONDS = 3600.0
KEY_PATH = "/commerce/notification/v1/public_key/{kid}"
ORDER_TOPICS = frozenset({"ORDER_CONFIRMATION"})


def challenge_response(challenge_code: str, token: str, endpoint: str) -> str:
    """Return eBay's expected answer: hex SHA-256 of code, token, endpoint, in order."""
    digest = hashlib.sha256()
    for part in (challenge_code, token, endpoint):
        digest.update(part.encode("utf-8"))
    return digest.hexdigest()


def load_key(text: str) -> ec.EllipticCurvePublicKey:
    """Load a key as eBay returns it: PEM markers with the base64 on one line."""
    inner = (
        text.replace("-----BEGIN PUBLIC KEY-----", "")
        .replace("-----END PUBLIC KEY-----", "")
        .strip()
    )
    key = load_der_public_key(base64.b64decode("".join(inner.split())))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an elliptic-curve key")
    return key


def read_signature(header: str) -> tuple[str, bytes] | None:
    """Return (key id, DER signature) from the header, or None if it is unreadable."""
    try:
        fields = json.loads(base64.b64decode(header, validate=True))
        kid, signature = fields["kid"], base64.b64decode(fields["signature"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    if str(fields.get("alg", "")).lower() != "ecdsa" or not isinstance(kid, str):
        return None
    return kid, signature


def signed_forms(body: bytes) -> list[bytes]:
    """Return the byte strings the signature may cover: the raw body first, then its
    compact re-serialisation (what eBay's own SDK checks) for a body with spaces."""
    forms = [body]
    try:
        compact = json.dumps(
            json.loads(body), separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
    except ValueError:
        return forms
    if compact != body:
        forms.append(compact)
    return forms


class KeyUnavailableError(ChannelUnavailableError):
    """eBay's public key for a notification could not be fetched."""


class NotificationKeys:
    """eBay's public keys by key id, fetched through the Notification API and cached.

    ``token`` returns an application access token. ``get`` makes a network call on a
    cache miss and raises ``KeyUnavailableError`` when the key cannot be had.
    """

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        token: Callable[[], str],
        *,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = KEY_TTL_SECONDS,
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[str, tuple[float, ec.EllipticCurvePublicKey]] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def get(self, kid: str) -> ec.EllipticCurvePublicKey:
        with self._lock:
            cached = self._cache.get(kid)
            if cached is not None and self._clock() - cached[0] < self._ttl:
                return cached[1]
            key = self._fetch(kid)
            self._cache[kid] = (self._clock(), key)
            return key

    def _fetch(self, kid: str) -> ec.EllipticCurvePublicKey:
        self.fetches += 1
        url = self._base_url + KEY_PATH.format(kid=kid)
        try:
            response = self._client.get(
                url, headers={"Authorization": f"Bearer {self._token()}"}
            )
            payload: Any = response.json() if response.status_code == 200 else None
            if not isinstance(payload, dict) or not isinstance(payload.get("key"), str):
                raise KeyUnavailableError(
                    f"ebay: public key {kid} not served (HTTP {response.status_code})"
                )
            return load_key(payload["key"])
        except (httpx.HTTPError, ValueError) as exc:
            raise KeyUnavailableError(
                f"ebay: cannot fetch public key {kid}: {exc}"
            ) from exc


class EbayVerifier:
    channel = "ebay"

    def __init__(
        self,
        token: str | None,
        endpoint: str | None,
        keys: Callable[[str], ec.EllipticCurvePublicKey] | None,
    ) -> None:
        self._token = token
        self._endpoint = endpoint
        self._keys = keys

    def verify(self, request: Request) -> Verdict:
        if request.method == "GET":
            return self._challenge(request)
        if request.method != "POST":
            return Verdict.refused(405)
        header = request.header("x-ebay-signature")
        parsed = read_signature(header) if header else None
        if parsed is None or self._keys is None:
            return Verdict.refused()
        kid, signature = parsed
        try:
            key = self._keys(kid)
        except KeyUnavailableError as exc:
            log.warning("%s", exc)
            return Verdict.refused(503)
        if not any(_holds(key, signature, form) for form in signed_forms(request.body)):
            return Verdict.refused()
        return self._accepted(request.body)

    def _challenge(self, request: Request) -> Verdict:
        code = request.query.get("challenge_code")
        if not code or not self._token or not self._endpoint:
            log.warning("ebay: challenge refused: token or --public-url not set")
            return Verdict.refused(404 if not code else 503)
        answer = challenge_response(code, self._token, self._endpoint)
        return Verdict(200, reply={"challengeResponse": answer})

    def _accepted(self, body: bytes) -> Verdict:
        payload, problem = parse_object(body)
        notification = (payload or {}).get("notification")
        metadata = (payload or {}).get("metadata")
        event_id = topic = None
        if isinstance(notification, dict):
            event_id = notification.get("notificationId")
        if isinstance(metadata, dict):
            topic = metadata.get("topic")
        if payload is not None and not isinstance(event_id, str):
            problem, event_id = "no notificationId", None
        return Verdict(
            204,
            accepted=True,
            event_id=event_id if isinstance(event_id, str) else None,
            topic=topic if isinstance(topic, str) else None,
            malformed=problem,
        )


def _holds(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA1()))  # noqa: S303
    except InvalidSignature:
        return False
    return True


class AppToken:
    """An eBay application access token (client credentials grant), kept until it
    runs out; the Notification API's getPublicKey accepts it."""

    SCOPE = "https://api.ebay.com/oauth/api_scope"

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/identity/v1/oauth2/token"
        self._auth = (client_id, client_secret)
        self._clock = clock
        self._token: tuple[float, str] | None = None

    def __call__(self) -> str:
        if self._token is not None and self._clock() < self._token[0]:
            return self._token[1]
        response = self._client.post(
            self._url,
            auth=self._auth,
            data={"grant_type": "client_credentials", "scope": self.SCOPE},
        )
        payload: Any = response.json() if response.status_code == 200 else {}
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str):
            raise KeyUnavailableError(
                f"ebay: no application token (HTTP {response.status_code})"
            )
        lifetime = float(payload.get("expires_in", 3600))
        self._token = (self._clock() + lifetime * 0.9, token)
        return token
