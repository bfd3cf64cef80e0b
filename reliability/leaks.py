"""Find secrets where they must never be: the database, logs, JSON output, tracebacks.

The secrets are every credential the simulators hand out and every value the
credentials file holds; a scan looks for each one verbatim in the collected text.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SECRET_KEYS = (
    "access_token",
    "api_token",
    "client_secret",
    "refresh_token",
    "api_key",
    "consent_code",
    "auth_code",
)
MIN_LENGTH = 8
"""Shorter values (flags, numbers) would match by chance."""


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str):
        try:
            inner = json.loads(value)
        except ValueError:
            yield value
            return
        if isinstance(inner, dict | list):
            yield from _leaves(inner)


def secrets_of(described: dict[str, Any], credentials_file: Path) -> set[str]:
    """Return every secret a world handed out or stored."""
    found = {
        str(info[key])
        for info in described.values()
        for key in SECRET_KEYS
        if info.get(key)
    }
    if credentials_file.exists():
        stored = json.loads(credentials_file.read_text(encoding="utf-8"))
        for name, value in stored.items():
            # Client ids and settings are no secret; tokens and codes are.
            if not name.endswith(("client_id", "/oauth")):
                found.update(_leaves(value))
            else:
                found.update(
                    leaf for leaf in _leaves(value) if "secret" in leaf.lower()
                )
    return {s for s in found if len(s) >= MIN_LENGTH}


def database_text(path: Path) -> str:
    """Return the database and its write-ahead log as text, bytes kept as latin-1."""
    parts = [path, path.with_name(path.name + "-wal")]
    return "".join(p.read_bytes().decode("latin-1") for p in parts if p.exists())


def find(secrets: Iterable[str], texts: dict[str, str]) -> list[str]:
    """Return "where: secret prefix" for every secret seen in a text."""
    return [
        f"{where}: {secret[:4]}..."
        for where, text in texts.items()
        for secret in secrets
        if secret in text
    ]


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.lines.append(text)


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Collect every log line of the package, at DEBUG, while the block runs."""
    logger = logging.getLogger("stackknack_cli")
    collector = _Collector()
    previous = logger.level
    logger.addHandler(collector)
    logger.setLevel(logging.DEBUG)
    try:
        yield collector.lines
    finally:
        logger.removeHandler(collector)
        logger.setLevel(previous)
