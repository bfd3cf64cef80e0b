"""Start-up: `stackknack --help` against `sqlite-utils --help` (target: within 1.5x).

Usage: python bench/startup.py [--runs 15]

Both run as installed console scripts of this Python; the median of the runs is kept.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 1.5


def median_seconds(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    scripts = Path(sys.executable).parent

    ours = median_seconds([str(scripts / "stackknack"), "--help"], args.runs)
    theirs = median_seconds([str(scripts / "sqlite-utils"), "--help"], args.runs)
    ratio = ours / theirs
    print(f"sqlite-utils --help: {theirs * 1000:.0f} ms (median of {args.runs})")
    print(f"stackknack --help:   {ours * 1000:.0f} ms (median of {args.runs})")
    print(
        f"ratio: {ratio:.2f}x (target <= {TARGET}x): "
        f"{'MET' if ratio <= TARGET else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
