"""Where stackknack keeps its files.

Every path derives from one root: ``STACKKNACK_HOME`` when set, else the platform's user
data directory (through platformdirs). ``STACKKNACK_DB`` or ``--db`` picks the database.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "stackknack"


def home_dir() -> Path:
    """Return the folder that holds the database and any fallback credentials file."""
    override = os.environ.get("STACKKNACK_HOME")
    if override:
        return Path(override).expanduser()

    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the database path: ``explicit``, else ``STACKKNACK_DB``, else default."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get("STACKKNACK_DB")
    if from_env:
        return Path(from_env).expanduser()
    return home_dir() / "stackknack.db"


def credentials_file() -> Path:
    """Return the 0600 JSON file used when no OS keyring backend works."""
    return home_dir() / "credentials.json"
