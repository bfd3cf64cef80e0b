"""The simulated ``accounts.stockx.com``: authorization codes, tokens and refresh.

Codes are single use. Access tokens live ``ACCESS_LIFETIME`` seconds of the injected
clock. Whether StockX rotates refresh tokens is not documented; they are kept unless
``rotate`` is set, in which case each refresh answer carries a new one and the old one
dies.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode

from stackknack_cli.sandbox.server import Request, Response

ACCESS_LIFETIME = 43_200
"""Seconds; one published client mock uses 12 hours (StockX's own figure is unknown)."""


class Accounts:
    """Issued codes and tokens for one app (``client_id``, ``client_secret``)."""

    def __init__(
        self,
        rng: random.Random,
        clock: Callable[[], float],
        *,
        rotate: bool = False,
        redirect_uri: str = "http://127.0.0.1:8765/callback",
    ) -> None:
        self.rng = rng
        self.clock = clock
        self.rotate_refresh_tokens = rotate
        self.redirect_uri = redirect_uri
        self.codes: set[str] = set()
        self.access: dict[str, float] = {}
        self.refresh_tokens: set[str] = set()
        self._lock = threading.RLock()
        self.client_id = self.secret(16)
        self.client_secret = self.secret(32)

    def secret(self, size: int) -> str:
        return f"{self.rng.getrandbits(size * 4):0{size}x}"

    def is_live(self, token: str) -> bool:
        """Tell whether ``token`` is an access token that has not expired."""
        with self._lock:
            expiry = self.access.get(token)
            return expiry is not None and self.clock() < expiry

    def issue_code(self) -> str:
        """Return a new single-use authorization code for ``client_id``."""
        with self._lock:
            code = self.secret(24)
            self.codes.add(code)
            return code

    def issue_tokens(self, *, with_refresh: bool) -> dict[str, object]:
        access = "eyJ" + self.secret(40)
        self.access[access] = self.clock() + ACCESS_LIFETIME
        payload: dict[str, object] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_LIFETIME,
            "scope": "offline_access openid",
        }
        if with_refresh:
            refresh = self.secret(48)
            self.refresh_tokens.add(refresh)
            payload["refresh_token"] = refresh
        return payload

    def expire_access_tokens(self) -> None:
        """Make every access token already issued expired (refresh tokens stay)."""
        with self._lock:
            now = self.clock()
            self.access = {token: now - 1 for token in self.access}

    def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8")).items()}
        if form.get("client_id") != self.client_id or (
            form.get("client_secret") != self.client_secret
        ):
            return Response.json({"error": "access_denied"}, 401)
        grant = form.get("grant_type")
        with self._lock:
            if grant == "authorization_code":
                if form.get("code") not in self.codes:
                    return Response.json({"error": "invalid_grant"}, 403)
                if form.get("redirect_uri") != self.redirect_uri:
                    return Response.json({"error": "invalid_grant"}, 403)
                self.codes.discard(form["code"])
                return Response.json(self.issue_tokens(with_refresh=True))
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                if refresh not in self.refresh_tokens:
                    return Response.json({"error": "invalid_grant"}, 403)
                if self.rotate_refresh_tokens:
                    self.refresh_tokens.discard(refresh)
                payload = self.issue_tokens(with_refresh=self.rotate_refresh_tokens)
                return Response.json(payload)
        return Response.json({"error": "unsupported_grant_type"}, 400)

    def authorize(self, request: Request) -> Response:
        if request.arg("client_id") != self.client_id:
            return Response.json({"error": "unknown client"}, 400)
        query = {"code": self.issue_code(), "state": request.arg("state") or ""}
        target = f"{request.arg('redirect_uri')}?{urlencode(query)}"
        return Response(302, b"", {"Location": target})

    # The HTTP face.
