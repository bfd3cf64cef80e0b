"""What a scenario measured, and the table the suite prints."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

HEADERS = (
    "scenario",
    "runs",
    "events",
    "lost",
    "doubled",
    "wrong final counts",
    "time to converge",
)


@dataclass
class Figure:
    """One scenario's figures; ``problems`` lists every check that failed."""

    scenario: str
    runs: int = 0
    events: int = 0
    lost: int = 0
    doubled: int = 0
    wrong: int = 0
    converge: float | None = None
    """Longest time, in seconds, from the last disturbance to agreement."""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.wrong or self.problems)

    def check(self, holds: bool, problem: str) -> bool:
        """Record ``problem`` unless ``holds``; return ``holds``."""
        if not holds:
            self.problems.append(problem)
        return holds

    def settled(self, seconds: float) -> None:
        self.converge = max(self.converge or 0.0, seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "runs": self.runs,
            "events": self.events,
            "lost": self.lost,
            "doubled": self.doubled,
            "wrong": self.wrong,
            "converge_seconds": self.converge,
            "ok": self.ok,
            "problems": self.problems,
            "notes": self.notes,
        }


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def table(figures: Iterable[Figure]) -> str:
    """Return the figures as a Markdown table."""
    rows = [
        (
            f.scenario,
            str(f.runs),
            f"{f.events:,}",
            str(f.lost),
            str(f.doubled),
            str(f.wrong),
            _seconds(f.converge),
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [HEADERS, *rows]) for i in range(len(HEADERS))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in [HEADERS, *rows]
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
