"""Clover webhooks: a one-time verification code, then a static ``X-Clover-Auth`` code.

Clover signs nothing: every notification carries the same auth code the Developer
Dashboard showed, and only object ids (``O:`` orders, ``I:``/``IS:`` items), several
merchants per POST.
"""

from __future__ import annotations

import hmac

from stackknack_cli.engine.webhooks import Request, Verdict, body_digest, parse_object

MAX_CODE_LENGTH = 200


def object_keys(payload: dict[str, object]) -> dict[str, list[tuple[str, str, int]]]:
    """Return, per merchant, the (key, object id, ms timestamp) of each notification."""
    merchants = payload.get("merchants")
    found: dict[str, list[tuple[str, str, int]]] = {}
    if not isinstance(merchants, dict):
        return found
    for merchant, events in merchants.items():
        for event in events if isinstance(events, list) else []:
            if not isinstance(event, dict):
                continue
            key, _, object_id = str(event.get("objectId", "")).partition(":")
            stamp = event.get("ts")
            found.setdefault(str(merchant), []).append(
                (key, object_id, stamp if isinstance(stamp, int) else 0)
            )
    return found


def verification_code(request: Request) -> str | None:
    """Return the code of Clover's one-time URL verification POST, if this is one."""
    payload, _ = parse_object(request.body)
    if payload is None or set(payload) != {"verificationCode"}:
        return None
    code = payload["verificationCode"]
    if not isinstance(code, str) or not 0 < len(code) <= MAX_CODE_LENGTH:
        return None
    return code


class CloverVerifier:
    channel = "clover"

    def __init__(self, auth_code: str | None) -> None:
        self._auth_code = auth_code

    def verify(self, request: Request) -> Verdict:
        if request.method != "POST":
            return Verdict.refused(405)
        given = request.header("x-clover-auth")
        if given is None:
            code = verification_code(request)
            if code is None:
                return Verdict.refused()
            # Answered and shown only: the code is pasted back into the dashboard.
            return Verdict(200, notice=f"clover verification code: {code}")
        if not self._auth_code or not hmac.compare_digest(
            given.strip().encode(), self._auth_code.encode()
        ):
            return Verdict.refused()

        payload, problem = parse_object(request.body)
        topic = None
        if payload is not None:
            keys = object_keys(payload)
            if "merchants" not in payload:
                problem = "no merchants in the notification"
            kinds = sorted({key for events in keys.values() for key, _, _ in events})
            topic = ",".join(kinds) or "none"
        return Verdict(
            200,
            accepted=True,
            event_id=body_digest(request.body),
            topic=topic,
            malformed=problem,
        )
