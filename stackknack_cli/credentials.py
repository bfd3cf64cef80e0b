"""Secrets in the OS keyring, or in a 0600 file where no keyring backend works.

Secrets never go to SQLite. Each database has its own install id, so the secrets of a
sandbox database never mix with a real one. The fallback file is used when keyring has
no working backend (a headless server, cron) or when ``STACKKNACK_CREDENTIALS=file``;
stackknack says so on stderr the first time it uses it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Protocol

from stackknack_cli import config
from stackknack_cli.errors import CredentialError

log = logging.getLogger(__name__)

SERVICE = "stackknack"


class SecretStore(Protocol):
    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


class KeyringStore:
    """Secrets in the OS keyring, under the service name ``stackknack``."""

    backend_name = "keyring"

    def get(self, name: str) -> str | None:
        import keyring

        value: str | None = keyring.get_password(SERVICE, name)
        return value

    def set(self, name: str, value: str) -> None:
        import keyring

        keyring.set_password(SERVICE, name, value)

    def delete(self, name: str) -> None:
        import keyring
        import keyring.errors

        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            keyring.delete_password(SERVICE, name)


class FileStore:
    """Secrets in a JSON file readable only by its owner (mode 0600)."""

    backend_name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise CredentialError(
                f"cannot read credentials file {self.path}: {exc}"
            ) from None
        return {str(k): str(v) for k, v in data.items()}

    def _write(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".credentials-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            # Replacing in one step keeps a pair such as Clover's single-use refresh
            # token and its access token consistent even after a crash.
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> str | None:
        return self._read().get(name)

    def set(self, name: str, value: str) -> None:
        data = self._read()
        data[name] = value
        self._write(data)

    def delete(self, name: str) -> None:
        data = self._read()
        if data.pop(name, None) is not None:
            self._write(data)


class MemoryStore:
    """Secrets held only in this process: a trial before anything is kept."""

    backend_name = "memory"

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


_announced = False


def keyring_works() -> bool:
    """Tell whether keyring has a backend that can store secrets here."""
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return False
    priority = getattr(backend, "priority", 1)
    return bool(priority and priority > 0)


def open_store() -> KeyringStore | FileStore:
    """Return the keyring store, or the documented file fallback (announced once)."""
    global _announced
    choice = os.environ.get("STACKKNACK_CREDENTIALS", "").lower()
    if choice == "keyring" or (choice != "file" and keyring_works()):
        return KeyringStore()

    path = config.credentials_file()
    # Said once, when the file is first used; cron would mail it every minute.
    if not _announced and choice != "file" and not path.exists():
        print(
            f"stackknack: no OS keyring available; secrets will be kept in {path} "
            "(mode 0600); set STACKKNACK_CREDENTIALS=file to choose this yourself",
            file=sys.stderr,
        )
    _announced = True
    return FileStore(path)


class Credentials:
    """The secrets of one database's channels, read and written by field name."""

    def __init__(self, install_id: str, store: SecretStore | None = None) -> None:
        self.install_id = install_id
        self.store = store if store is not None else open_store()

    def _name(self, channel: str, field: str) -> str:
        return f"{self.install_id}/{channel}/{field}"

    def get(self, channel: str, field: str) -> str | None:
        return self.store.get(self._name(channel, field))

    def require(self, channel: str, field: str) -> str:
        value = self.get(channel, field)
        if not value:
            raise CredentialError(
                f"no {field} stored for {channel}; run: stackknack connect {channel}"
            )
        return value

    def set(self, channel: str, field: str, value: str) -> None:
        self.store.set(self._name(channel, field), value)

    def delete(self, channel: str, field: str) -> None:
        self.store.delete(self._name(channel, field))

    def trial(self) -> Credentials:
        """Return an empty in-memory set for the same database, to try secrets in
        before they replace the kept ones (``keep``)."""
        return Credentials(self.install_id, MemoryStore())

    def keep(self, trial: Credentials, channel: str, fields: list[str]) -> None:
        """Copy ``fields`` of ``channel`` from a trial set; delete those it lacks."""
        for field in fields:
            value = trial.get(channel, field)
            if value is None:
                self.delete(channel, field)
            else:
                self.set(channel, field, value)

    def get_json(self, channel: str, field: str) -> dict[str, object] | None:
        raw = self.get(channel, field)
        if raw is None:
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    def set_json(self, channel: str, field: str, value: dict[str, object]) -> None:
        self.set(channel, field, json.dumps(value, sort_keys=True))
