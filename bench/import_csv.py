"""Bulk import: a 100,000-row CSV through `stackknack import csv`, timed beside
`sqlite-utils insert --csv` of the same file in the same run, with peak memory.

Usage: python bench/import_csv.py [--rows 100000]

Targets: no slower than 1.5 times sqlite-utils, peak memory under 100 MB.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SPEED_TARGET = 1.5
MEMORY_TARGET_MB = 100


def write_file(path: Path, rows: int) -> None:
    """A Shopify inventory export (2024+ layout) with ``rows`` variants."""
    header = [
        "Handle", "Title", "Option1 Name", "Option1 Value", "Option2 Name",
        "Option2 Value", "Option3 Name", "Option3 Value", "SKU", "HS Code", "COO",
        "Location", "Bin name", "Incoming (not editable)",
        "Unavailable (not editable)", "Committed (not editable)",
        "Available (not editable)", "On hand (current)", "On hand (new)",
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for n in range(rows):
            size = 6 + (n % 13) / 2
            writer.writerow([
                f"sneaker-{n // 13}", f"Sneaker model {n // 13}", "Size", f"US {size}",
                "", "", "", "", f"ST{n // 13:06d}-{size}", "", "", "Main store", "",
                "0", "0", "0", str(n % 4), str(n % 4), "",
            ])  # fmt: skip


# A wrapper process per command, so that each peak belongs to that command alone.
MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(time.perf_counter() - t, "
    "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``command`` in a child process; return (seconds, peak resident MB)."""
    answer = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds, peak_kb = answer.stdout.split()
    return float(seconds), int(peak_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    sqlite_utils = shutil.which("sqlite-utils") or str(
        Path(sys.executable).parent / "sqlite-utils"
    )

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "inventory_export.csv"
        write_file(source, args.rows)
        env = dict(os.environ, STACKKNACK_HOME=str(folder / "home"), NO_COLOR="1")

        size = source.stat().st_size
        theirs, their_memory = run(
            [sqlite_utils, "insert", str(folder / "plain.db"), "rows", str(source),
             "--csv"], env,
        )  # fmt: skip
        ours, our_memory = run(
            [sys.executable, "-m", "stackknack_cli", "import", "csv", str(source)], env
        )

    ratio = ours / theirs
    print(f"file: {args.rows:,} rows ({size / 1e6:.1f} MB when written)")
    print(f"sqlite-utils insert --csv: {theirs:.2f}s, peak {their_memory:.0f} MB")
    print(f"stackknack import csv:     {ours:.2f}s, peak {our_memory:.0f} MB")
    print(
        f"speed: {ratio:.2f}x sqlite-utils (target <= {SPEED_TARGET}x): "
        f"{'MET' if ratio <= SPEED_TARGET else 'NOT MET'}"
    )
    print(
        f"memory: {our_memory:.0f} MB (target < {MEMORY_TARGET_MB} MB): "
        f"{'MET' if our_memory < MEMORY_TARGET_MB else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
