"""How big each scenario runs: the short form for CI, the long form by hand."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    seed: int = 5
    kills: int = 10
    deliveries: int = 1_000
    races: int = 25
    fault_cycles: int = 18
    outage_minutes: float = 6.0
    fuzz_examples: int = 60


SHORT = Profile("short")
LONG = Profile(
    "long",
    kills=210,
    deliveries=10_000,
    races=1_000,
    fault_cycles=200,
    outage_minutes=20.0,
    fuzz_examples=1_000,
)
PROFILES = {p.name: p for p in (SHORT, LONG)}
