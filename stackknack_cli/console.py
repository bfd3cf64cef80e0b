"""Rich consoles: results to stdout, progress, warnings and errors to stderr.

``NO_COLOR`` and non-terminal output are respected by Rich itself. Text that came from a
channel or a file is escaped before it meets Rich markup.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

quiet = False


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout, without any markup."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def info(message: str) -> None:
    """A progress or status line on stderr (silenced by ``--quiet``)."""
    if not quiet:
        err.print(message)


def warn(message: str) -> None:
    err.print(f"[yellow]Warning:[/yellow] {escape(message)}")


def error(message: str) -> None:
    err.print(f"[red]Error:[/red] {escape(message)}")


__all__ = ["err", "error", "escape", "info", "out", "print_json", "warn"]
