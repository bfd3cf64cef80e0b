from __future__ import annotations

from stackknack_cli.store import open_store
from tests.cli_helpers import invoke


def test_demo_syncs_all_four_channels_and_flags_the_race(
    capsys, monkeypatch, tmp_path
) -> None:
    outcome = invoke(capsys, monkeypatch, "demo", "--keep", str(tmp_path / "kept"))

    assert outcome.code == 0, outcome.err
    assert "all 33 SKUs agree on every channel" in outcome.out
    assert "OVERSELL flagged: DZ5485-612-8" in outcome.out
    for channel in ("shopify", "clover", "ebay", "stockx"):
        assert f"linked 33 {channel} listings" in outcome.err
    store = open_store(tmp_path / "kept" / "demo.db")
    try:
        assert store.scalar("SELECT count(*) FROM oversells") == 1
        assert (
            store.scalar("SELECT available FROM items WHERE sku = 'DZ5485-612-8'") == 0
        )
        open_pushes = (
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
        )
        assert store.scalar(open_pushes) == 0
        assert store.scalar("SELECT count(*) FROM sales WHERE status = 'applied'") == 5
    finally:
        store.close()


def test_demo_with_a_catalogue_it_cannot_use_says_why(
    capsys, monkeypatch, tmp_path
) -> None:
    catalog = tmp_path / "tiny.csv"
    catalog.write_text("sku,quantity,title\nA,3,Shoe\n")
    outcome = invoke(capsys, monkeypatch, "demo", "--catalog", str(catalog))
    assert outcome.code == 1
    assert "three SKUs with 1 unit" in outcome.err
    assert outcome.err.count("Error:") == 1
