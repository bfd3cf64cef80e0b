from __future__ import annotations

from pathlib import Path

from stackknack_cli.cli.reference import render

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "commands.md"


def test_command_reference_matches_the_cli() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "docs/commands.md is stale; run: "
        "python -m stackknack_cli.cli.reference > docs/commands.md"
    )


def test_reference_covers_every_command() -> None:
    text = render()
    for command in ("sync", "stock", "outbox", "oversells", "doctor", "demo"):
        assert f"## stackknack {command}\n" in text
    assert "## stackknack import csv\n" in text
    assert "## stackknack connect shopify\n" in text
