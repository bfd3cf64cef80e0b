"""The reliability suite's short form: every scenario against the simulators."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("hypothesis", reason="the fuzz scenario needs hypothesis")

from reliability.figures import Figure, table  # noqa: E402
from reliability.profile import SHORT  # noqa: E402
from reliability.run import SCENARIOS  # noqa: E402


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_loses_doubles_and_lets_in_nothing(name: str, tmp_path: Path) -> None:
    figure = SCENARIOS[name](SHORT, tmp_path)
    assert figure.problems == []
    assert (figure.lost, figure.doubled, figure.wrong) == (0, 0, 0)
    assert figure.events > 0


def test_figures_table_has_one_row_per_scenario() -> None:
    text = table([Figure("a", runs=1, events=1234), Figure("b", converge=0.5)])
    lines = text.splitlines()
    assert len(lines) == 4
    assert "1,234" in lines[2]
    assert "0.50 s" in lines[3]
