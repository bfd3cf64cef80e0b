"""Write the command reference (docs/commands.md) from the CLI itself.

Run ``python -m stackknack_cli.cli.reference > docs/commands.md``; a test checks that
the file matches, so the reference never drifts from the code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

WIDTH = 88


def _walk(command: Any, ctx: Any) -> Iterator[tuple[str, str]]:
    yield ctx.command_path, command.get_help(ctx)
    for name in sorted(getattr(command, "commands", {})):
        sub = command.commands[name]
        if getattr(sub, "hidden", False):
            continue
        child = sub.context_class(
            sub,
            info_name=name,
            parent=ctx,
            terminal_width=WIDTH,
            max_content_width=WIDTH,
        )
        yield from _walk(sub, child)


def render() -> str:
    """Return the help of every command as one Markdown page."""
    import typer.main

    from stackknack_cli.cli import app

    root = typer.main.get_command(app)
    ctx = root.context_class(
        root, info_name="stackknack", terminal_width=WIDTH, max_content_width=WIDTH
    )
    parts = [
        "# Command reference",
        "",
        "Generated from the CLI by `python -m stackknack_cli.cli.reference`; a test",
        "fails when this page and the code disagree.",
    ]
    for path, text in _walk(root, ctx):
        parts += ["", f"## {path}", "", "```text", text.rstrip(), "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
