from __future__ import annotations

from stackknack_cli.sandbox.demo import run_demo
from stackknack_cli.sandbox.runtime import CATALOG
from tests.cli_helpers import invoke


def test_demo_ends_with_every_channel_agreeing_and_the_race_flagged(tmp_path) -> None:
    result = run_demo(CATALOG, tmp_path, say=lambda message: None)

    assert result.ok
    assert result.imported == 33
    assert len(result.rows) == 33
    race = next(row for row in result.rows if row.sku == result.oversold_sku)
    assert race.before == {"central": 1, "shopify": 1, "clover": 1}
    assert race.after == {"central": 0, "shopify": 0, "clover": 0}
    assert [o["sku"] for o in result.sync.oversells] == [result.oversold_sku]
    assert result.sync.queued == 0


def test_demo_command_exits_zero_and_keeps_files_when_asked(
    capsys, monkeypatch, tmp_path
) -> None:
    outcome = invoke(capsys, monkeypatch, "demo", "--keep", str(tmp_path / "kept"))
    assert outcome.code == 0, outcome.err
    assert "agree on every channel" in outcome.out
    assert "OVERSELL flagged" in outcome.out
    assert (tmp_path / "kept" / "demo.db").exists()


def test_demo_with_own_catalogue_and_too_few_single_units_says_why(
    capsys, monkeypatch, tmp_path
) -> None:
    catalog = tmp_path / "tiny.csv"
    catalog.write_text("sku,quantity,title\nA,3,Shoe\n")
    outcome = invoke(capsys, monkeypatch, "demo", "--catalog", str(catalog))
    assert outcome.code == 1
    assert "two SKUs with 1 unit" in outcome.err


def test_demo_uses_a_plain_catalogue_too(capsys, monkeypatch, tmp_path) -> None:
    catalog = tmp_path / "plain.csv"
    catalog.write_text("sku,quantity,title\nS1,1,Shoe\nS2,1,Sandal\nM,2,Boot\n")
    outcome = invoke(capsys, monkeypatch, "demo", "--catalog", str(catalog))
    assert outcome.code == 0, outcome.err
