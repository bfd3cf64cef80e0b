"""Per-channel drain locks: one process at a time sends a channel's outbox.

An outbox lease alone can run out while a slow push is still on the wire (adapter
retries under throttling can outlast it); a second process would then claim the entry
and send it again. The lock is held for a whole drain and renewed, with the leases of
the entries being sent, by a heartbeat thread on its own connection. A holder that died
(SIGKILL) is recognised at once by its process id on this host, elsewhere when its lock
runs out.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from stackknack_cli.store.db import Store, iso, open_store, utcnow

log = logging.getLogger(__name__)

LOCK_SECONDS = 60
RENEW_SECONDS = 10.0
HOST = socket.gethostname()


@dataclass(frozen=True)
class Holder:
    """The process that holds a channel's drain lock."""

    owner: str
    host: str
    pid: int
    purpose: str
    expires_at: str


def is_alive(pid: int) -> bool:
    """Tell whether a process with this id runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_abandoned(holder: Holder, now: str) -> bool:
    if holder.expires_at < now:
        return True
    return (
        holder.host == HOST and holder.pid != os.getpid() and not is_alive(holder.pid)
    )


def take(
    store: Store,
    channel: str,
    *,
    owner: str,
    purpose: str,
    now: datetime | None = None,
    seconds: int = LOCK_SECONDS,
) -> Holder | None:
    """Take the channel's drain lock for ``owner``; return the other holder if it is
    taken, None when it is now ours.

    Taking a free or abandoned lock frees the channel's entries left ``sending``: no
    live process can be sending them.
    """
    moment = now or utcnow()
    stamp = iso(moment)
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT owner, host, pid, purpose, expires_at FROM drain_locks"
            " WHERE channel = ?",
            (channel,),
        ).fetchone()
        holder = Holder(*row) if row else None
        if holder is not None and holder.owner != owner:
            if not _is_abandoned(holder, stamp):
                return holder
            log.warning(
                "%s: taking over the drain lock of %s (pid %d on %s)",
                channel,
                holder.purpose,
                holder.pid,
                holder.host,
            )
        if holder is None or holder.owner != owner:
            conn.execute(
                "UPDATE outbox SET status = 'pending', lease_until = NULL,"
                " interrupted = 1"
                " WHERE channel = ? AND status = 'sending'",
                (channel,),
            )
        conn.execute(
            "INSERT INTO drain_locks (channel, owner, host, pid, purpose, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel) DO UPDATE SET"
            " owner = excluded.owner, host = excluded.host, pid = excluded.pid,"
            " purpose = excluded.purpose, expires_at = excluded.expires_at",
            (
                channel,
                owner,
                HOST,
                os.getpid(),
                purpose,
                iso(moment + timedelta(seconds=seconds)),
            ),
        )
    return None


def renew(
    conn: sqlite3.Connection, channel: str, owner: str, *, seconds: int = LOCK_SECONDS
) -> bool:
    """Push back the lock and the leases of the entries being sent; False if lost."""
    moment = utcnow()
    until = iso(moment + timedelta(seconds=seconds))
    conn.execute("BEGIN IMMEDIATE")
    try:
        kept = conn.execute(
            "UPDATE drain_locks SET expires_at = ? WHERE channel = ? AND owner = ?",
            (until, channel, owner),
        ).rowcount
        if kept:
            conn.execute(
                "UPDATE outbox SET lease_until = max(coalesce(lease_until, ''), ?)"
                " WHERE channel = ? AND status = 'sending'",
                (until, channel),
            )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return bool(kept)


def release(store: Store, channel: str, owner: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            "DELETE FROM drain_locks WHERE channel = ? AND owner = ?", (channel, owner)
        )


def holders(store: Store) -> dict[str, Holder]:
    """Return the current holder of each locked channel."""
    rows = store.conn.execute(
        "SELECT channel, owner, host, pid, purpose, expires_at FROM drain_locks"
    ).fetchall()
    return {row[0]: Holder(*row[1:]) for row in rows}


def _heartbeat(store: Store, channel: str, owner: str, stop: threading.Event) -> None:
    if store.path is None or str(store.path) == ":memory:":
        return
    own: Store | None = None
    try:
        while not stop.wait(RENEW_SECONDS):
            own = own or open_store(store.path)
            if not renew(own.conn, channel, owner):
                log.error("%s: drain lock lost while sending", channel)
                return
    except sqlite3.Error as exc:
        log.error("%s: cannot renew the drain lock: %s", channel, exc)
    finally:
        if own is not None:
            own.close()


@contextmanager
def held(store: Store, channel: str, *, purpose: str) -> Iterator[Holder | None]:
    """Hold the channel's drain lock for the block, renewed in the background.

    Yields None when the lock is ours, else the holder that kept it (the block then
    must not send anything).
    """
    owner = uuid.uuid4().hex
    blocker = take(store, channel, owner=owner, purpose=purpose)
    if blocker is not None:
        yield blocker
        return
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        args=(store, channel, owner, stop),
        name=f"drain-lock-{channel}",
        daemon=True,
    )
    beat.start()
    try:
        yield None
    finally:
        stop.set()
        beat.join()
        release(store, channel, owner)
