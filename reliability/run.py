"""Run the reliability suite and print its figures.

Usage: python -m reliability [--long] [--only NAME ...] [--seed N] [--json FILE]
Exit code 0 when every scenario holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reliability import crash, disorder, faults, fuzz, last_unit, security, tokens
from reliability.figures import Figure, table
from reliability.profile import PROFILES, Profile

SCENARIOS: dict[str, Callable[[Profile, Path], Figure]] = {
    "crash": crash.run,
    "disorder": disorder.run,
    "last-unit": last_unit.run,
    "faults": faults.run,
    "fuzz": fuzz.run,
    "security": security.run,
    "tokens": tokens.run,
}


def run_all(
    profile: Profile, workdir: Path, only: list[str] | None = None
) -> list[Figure]:
    figures = []
    for name, scenario in SCENARIOS.items():
        if only and name not in only:
            continue
        started = time.monotonic()
        figure = scenario(profile, workdir)
        figure.notes.append(f"wall time {time.monotonic() - started:.1f} s")
        print(f"{name}: {'ok' if figure.ok else 'FAILED'}", file=sys.stderr)
        figures.append(figure)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability")
    parser.add_argument("--long", action="store_true", help="run the long form")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    profile = PROFILES["long" if args.long else "short"]
    if args.seed is not None:
        profile = replace(profile, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="stackknack-reliability-") as folder:
        figures = run_all(profile, Path(folder), args.only)
    print(table(figures))
    for figure in figures:
        for line in figure.notes + [f"PROBLEM: {p}" for p in figure.problems]:
            print(f"- {figure.scenario}: {line}")
    if args.json:
        args.json.write_text(json.dumps([f.as_dict() for f in figures], indent=1))
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
