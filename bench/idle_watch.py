"""Idle ``watch``: CPU and resident memory of ``stackknack watch --plain`` over a
minute with no sales, and the API calls it spends, against each platform's budget.

Usage: python bench/idle_watch.py [--seconds 60] [--items 200]

The four simulators run in this process; ``watch`` runs as its own process (so only
its CPU is counted), polling each channel on its default schedule.

Targets: CPU under 1% of a core, resident memory under 80 MB, every channel's calls
inside its platform's rate budget.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from world import catalogue, connected_world, machine, verdict  # noqa: E402

CPU_TARGET = 1.0
RSS_TARGET_MB = 80
WARM_UP = 5.0
BUDGETS = {
    # channel: (calls allowed, per seconds, where the figure comes from)
    "shopify": (2, 1, "GraphQL: 100-point bucket refilled 50/s; a poll costs ~25"),
    "clover": (16, 1, "16 requests a second per token"),
    "ebay": (100_000, 86_400, "Fulfillment API getOrders: 100,000 a day"),
    "stockx": (25_000, 86_400, "25,000 requests a day"),
}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--items", type=int, default=200)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        connected_world(Path(tmp), catalogue(args.items, 3)) as world,
    ):
        env = dict(
            os.environ,
            STACKKNACK_HOME=str(world.folder),
            STACKKNACK_CREDENTIALS="file",
            NO_COLOR="1",
        )
        world.store.close()
        command = [sys.executable, "-m", "stackknack_cli", "watch", "--plain"]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            time.sleep(WARM_UP)  # start-up and the first poll of every channel
            cpu_before, calls_before = cpu_seconds(process.pid), world.calls()
            started = time.monotonic()
            peak = 0.0
            while time.monotonic() - started < args.seconds:
                if process.poll() is not None:
                    raise SystemExit(f"watch exited early with {process.returncode}")
                peak = max(peak, rss_mb(process.pid))
                time.sleep(1.0)
            elapsed = time.monotonic() - started
            cpu = cpu_seconds(process.pid) - cpu_before
            calls = {k: v - calls_before[k] for k, v in world.calls().items()}
        finally:
            process.terminate()
            process.wait(timeout=30)

    share = cpu / elapsed * 100
    print(f"machine: {machine()}")
    print(f"watch idle for {elapsed:.0f}s over {args.items} SKUs on four channels")
    print(f"CPU: {share:.2f}% of a core (target < {CPU_TARGET}%): "
          f"{verdict(share < CPU_TARGET)}")  # fmt: skip
    print(f"resident memory: peak {peak:.0f} MB (target < {RSS_TARGET_MB} MB): "
          f"{verdict(peak < RSS_TARGET_MB)}")  # fmt: skip
    for name, (allowed, per, source) in BUDGETS.items():
        rate = calls[name] / elapsed * per
        print(
            f"{name:8} {calls[name]} calls in {elapsed:.0f}s = {rate:,.1f} per "
            f"{'second' if per == 1 else 'day'} (budget {allowed:,}: {source}): "
            f"{verdict(rate <= allowed)}"
        )


if __name__ == "__main__":
    main()
