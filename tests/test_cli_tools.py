"""adjust, explain, rules and reconcile, through the CLI, on a Clover simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stackknack_cli.sandbox.clover import CloverSimulator
from stackknack_cli.sandbox.server import SimServer
from tests.cli_helpers import invoke


@pytest.fixture
def clover() -> Iterator[CloverSimulator]:
    sim = CloverSimulator(seed=11)
    sim.seed(name="Dunk Low / US 9", sku="DUNK-9", quantity=5)
    sim.seed(name="Samba / US 8", sku="SAMBA-8", quantity=2)
    server = SimServer(sim.app).start()
    try:
        yield sim, server.base_url
    finally:
        server.stop()


@pytest.fixture
def cli(capsys, monkeypatch, clover):
    # These runs make many calls in a row: let Clover's pacer really wait, as it does
    # for a user, so the simulator's 16-a-second limit is respected.
    import time

    import stackknack_cli.channels.http as http

    monkeypatch.setattr(http, "_sleep", time.sleep)

    def call(*args: str, stdin: str = ""):
        return invoke(capsys, monkeypatch, *args, stdin=stdin)

    sim, url = clover
    call(
        "connect", "clover", "--merchant", sim.merchant_id, "--base-url", url,
        stdin=sim.api_token,
    )  # fmt: skip
    assert call("import", "clover").code == 0
    return call


def test_adjust_adds_removes_and_sets_with_a_journalled_reason(cli, clover) -> None:
    sim, _ = clover
    assert cli("adjust", "DUNK-9", "-1", "--reason", "damaged box").code == 0
    assert cli("adjust", "DUNK-9", "+3", "--reason", "found in back").code == 0
    result = cli("adjust", "DUNK-9", "=2", "--reason", "counted", "--json")
    assert result.json() == {"sku": "DUNK-9", "before": 7, "after": 2}

    assert cli("sync").code == 0
    assert sim.stock("DUNK-9") == 2
    story = cli("explain", "DUNK-9", "--json").json()
    causes = [change["cause"] for change in story["changes"]]
    assert causes[-3:] == [
        "adjust: damaged box",
        "adjust: found in back",
        "adjust: counted",
    ]
    assert story["pushes"][-1]["status"] == "done"
    assert story["channels"][0]["holds"] == 2


def test_adjust_refuses_unknown_sku_and_malformed_change(cli) -> None:
    unknown = cli("adjust", "NOPE", "+1", "--reason", "x")
    assert unknown.code == 1
    assert "unknown SKU 'NOPE'" in unknown.err
    malformed = cli("adjust", "DUNK-9", "two", "--reason", "x")
    assert malformed.code == 1
    assert "+2, -1 or =5" in malformed.err
    silent = cli("adjust", "DUNK-9", "+1", "--reason", " ")
    assert silent.code == 1
    assert "--reason is empty" in silent.err


def test_adjust_says_when_it_removed_fewer_than_asked(cli, clover) -> None:
    too_many = cli("adjust", "DUNK-9", "-99", "--reason", "typo")

    assert too_many.code == 0
    assert "DUNK-9: 5 -> 0" in too_many.out
    assert "only 5 on hand, so 5 removed, not 99" in too_many.err


def test_explain_tells_sale_import_and_live_count(cli, clover) -> None:
    sim, _ = clover
    sim.sell("SAMBA-8", 1)
    cli("sync")
    story = cli("explain", "SAMBA-8", "--live", "--json").json()
    sale = story["changes"][-1]
    assert (sale["cause"], sale["channel"], sale["delta"]) == ("sale", "clover", -1)
    assert story["changes"][0]["cause"] == "import clover"
    assert story["live"] == {"clover": 1}
    text = cli("explain", "SAMBA-8")
    assert text.code == 0
    assert "1 available" in text.out


def test_explain_live_with_a_channel_down_shows_what_it_knows(cli, clover) -> None:
    sim, _ = clover
    sim.faults.set_fail_rate(1.0, status=503)

    story = cli("explain", "SAMBA-8", "--live", "--json")

    assert story.code == 0, story.err
    assert story.json()["live"] == {"clover": None}
    assert story.json()["channels"][0]["active"] is True
    assert "clover: cannot read it now" in story.err


def test_buffer_maximum_and_zero_below_shape_what_a_channel_shows(cli, clover):
    sim, _ = clover
    assert cli("rules", "set", "clover", "--buffer", "1").code == 0
    cli("sync")
    assert (sim.stock("DUNK-9"), sim.stock("SAMBA-8")) == (4, 1)

    cli("rules", "set", "clover", "--sku", "DUNK-9", "--max", "2")
    cli("rules", "set", "clover", "--sku", "SAMBA-8", "--zero-below", "3")
    cli("sync")
    assert (sim.stock("DUNK-9"), sim.stock("SAMBA-8")) == (2, 0)
    assert sim.item("SAMBA-8").available is False

    listed = cli("rules", "list", "--json").json()
    assert {(r["sku"], r["buffer"], r["max_quantity"]) for r in listed} == {
        ("", 1, None),
        ("DUNK-9", None, 2),
        ("SAMBA-8", None, None),
    }
    cli("rules", "clear", "clover", "--sku", "SAMBA-8")
    cli("sync")
    assert sim.stock("SAMBA-8") == 1  # the channel-wide buffer of 1 still holds


def test_rule_for_an_unknown_channel_or_sku_is_refused_and_nothing_kept(cli, clover):
    refused = {
        "channel": cli("rules", "set", "clovr", "--buffer", "1"),
        "sku": cli("rules", "set", "clover", "--sku", "NOPE-1", "--max", "2"),
        "nothing": cli("rules", "set", "clover"),
        "clear": cli("rules", "clear", "ebay"),
    }

    assert {name: r.code for name, r in refused.items()} == dict.fromkeys(refused, 1)
    assert "unknown channel 'clovr'" in refused["channel"].err
    assert "unknown SKU 'NOPE-1'" in refused["sku"].err
    assert "give --buffer, --max or --zero-below" in refused["nothing"].err
    assert "no ebay rule" in refused["clear"].err
    assert all("Traceback" not in r.err for r in refused.values())
    assert cli("rules", "list", "--json").json() == []


def test_reconcile_finds_drift_fixes_high_and_leaves_low_unless_asked(
    cli, clover
) -> None:
    sim, _ = clover
    sim.item("DUNK-9").quantity = 9  # someone typed 9 at the till
    sim.item("SAMBA-8").quantity = 1  # and 1 here

    found = cli("reconcile", "--json")
    assert found.code == 6
    drift = {d["sku"]: d for d in found.json()["drift"]}
    assert (drift["DUNK-9"]["live"], drift["DUNK-9"]["target"]) == (9, 5)
    assert (drift["SAMBA-8"]["live"], drift["SAMBA-8"]["target"]) == (1, 2)
    assert sim.stock("DUNK-9") == 9  # nothing changed without --fix

    fixed = cli("reconcile", "--fix")
    assert fixed.code == 6  # the low one is left
    assert sim.stock("DUNK-9") == 5
    assert sim.stock("SAMBA-8") == 1

    raised = cli("reconcile", "--fix", "--raise-low")
    assert raised.code == 0
    assert sim.stock("SAMBA-8") == 2
    assert cli("reconcile").code == 0


def test_watch_reports_drift_on_its_own_schedule(cli, clover, tmp_path) -> None:
    from stackknack_cli.channels import registry
    from stackknack_cli.engine.watch import Watcher
    from stackknack_cli.store import open_store

    sim, _ = clover
    sim.item("DUNK-9").quantity = 8
    now = [0.0]
    lines: list[str] = []
    store = open_store(tmp_path / "home" / "stackknack.db")
    try:
        with registry.connected_channels(store) as channels:
            watcher = Watcher(
                store, channels, clock=lambda: now[0], reconcile_every=60,
                on_line=lines.append,
            )  # fmt: skip
            watcher.step()
            assert not any(line.startswith("drift") for line in lines)
            now[0] = 61
            watcher.step()
    finally:
        store.close()
    assert any("drift: clover shows 8 of DUNK-9, should show 5" in x for x in lines)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("+99999999999999999999999", "more than 10,000,000 units"),
        ("=3000000000", "more than 10,000,000"),
        ("+٣", "+2, -1 or =5"),
    ],
)
def test_adjust_refuses_absurd_amounts(cli, change, message) -> None:
    result = cli("adjust", "DUNK-9", change, "--reason", "typo")
    assert result.code == 1
    assert message in result.err
    assert "Traceback" not in result.err


def test_adjust_journals_the_change_that_happened(cli) -> None:
    cli("adjust", "SAMBA-8", "-5", "--reason", "lost")
    story = cli("explain", "SAMBA-8", "--json").json()
    assert story["item"]["available"] == 0
    assert story["changes"][-1]["delta"] == -2
    assert cli("adjust", "SAMBA-8", "+0", "--reason", "nothing").code == 0
    assert len(cli("explain", "SAMBA-8", "--json").json()["changes"]) == len(
        story["changes"]
    )


def test_unknown_channel_name_is_called_unknown_not_unconnected(cli, clover) -> None:
    result = cli("sync", "-c", "clovr")

    assert result.code == 1
    assert "unknown channel 'clovr'; known: shopify, clover, ebay, stockx" in result.err
