"""Run the CLI in-process and capture what a user would see."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from stackknack_cli.cli import run


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def invoke(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    stdin: str | bytes = "",
) -> Outcome:
    """Run ``stackknack *args`` with ``stdin`` piped in; return exit code and output."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    fake = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", fake)
    capsys.readouterr()
    code = run(list(args))
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)
