from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest

from stackknack_cli.engine.doctor import clock_skew
from stackknack_cli.sandbox.clover import CloverSimulator
from stackknack_cli.sandbox.server import SimServer
from stackknack_cli.store import open_store
from stackknack_cli.store.db import utcnow


@pytest.fixture
def clover() -> Iterator[tuple[CloverSimulator, str]]:
    sim = CloverSimulator(seed=1)
    sim.seed(name="Samba / US 8", sku="B75806-8", quantity=1)
    server = SimServer(sim.app).start()
    try:
        yield sim, server.base_url
    finally:
        server.stop()


def _checks(result) -> dict[str, dict]:
    return {check["name"]: check for check in result.json()["checks"]}


def test_missing_database_is_reported_not_created(cli, tmp_path) -> None:
    result = cli("doctor", "--json")
    assert result.code == 1
    assert result.json()["checks"][0]["name"] == "database"
    assert not (tmp_path / "home" / "stackknack.db").exists()


def test_nothing_connected_is_a_problem_with_its_fix(cli, tmp_path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("sku,quantity\n")
    cli("import", "csv", str(empty))
    result = cli("doctor", "--json")
    assert result.code == 1
    checks = _checks(result)
    assert checks["channels"]["ok"] is False
    assert "stackknack connect" in checks["channels"]["fix"]
    assert checks["database integrity"]["ok"] is True
    assert checks["database schema"]["ok"] is True


def test_healthy_setup_passes_every_check(cli, clover) -> None:
    sim, url = clover
    cli(
        "connect",
        "clover",
        "--merchant",
        sim.merchant_id,
        "--base-url",
        url,
        stdin=sim.api_token,
    )
    result = cli("doctor", "--json")
    assert result.code == 0, result.out
    checks = _checks(result)
    assert checks["clover credentials"]["detail"] == "answered as Sandbox Sneakers"
    assert checks["clover clock"]["ok"] is True
    assert checks["secret store"]["detail"].startswith("OS keyring")


def test_revoked_token_and_dead_pushes_are_reported(
    cli, clover, memory_keyring, tmp_path
) -> None:
    sim, url = clover
    cli(
        "connect",
        "clover",
        "--merchant",
        sim.merchant_id,
        "--base-url",
        url,
        stdin=sim.api_token,
    )
    cli("import", "clover")
    for key in list(memory_keyring.secrets):
        memory_keyring.secrets[key] = "tok-9f8e7d-dead"
    store = open_store(tmp_path / "home" / "stackknack.db")
    store.conn.execute(
        "INSERT INTO outbox (channel, listing_id, target, cause, status,"
        " next_attempt_at, created_at, updated_at, last_error)"
        " VALUES ('clover', 1, 0, 'test', 'dead', '', '', '', 'refused')"
    )
    store.close()

    result = cli("doctor")

    assert result.code == 1
    assert "FAIL clover credentials" in result.out
    assert "fix: stackknack connect clover" in result.out
    assert "fix: see why with: stackknack outbox --dead" in result.out
    assert "tok-9f8e7d-dead" not in result.out


def test_fallback_file_readable_by_others_is_flagged(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("STACKKNACK_CREDENTIALS", "file")
    empty = tmp_path / "empty.csv"
    empty.write_text("sku,quantity\n")
    cli("import", "csv", str(empty))
    secrets = tmp_path / "home" / "credentials.json"
    secrets.parent.mkdir(parents=True, exist_ok=True)
    secrets.write_text("{}")
    os.chmod(secrets, 0o644)
    checks = _checks(cli("doctor", "--json"))
    assert checks["secret store"]["ok"] is False
    assert checks["secret store"]["fix"] == f"chmod 600 {secrets}"


def test_clock_skew_reads_the_date_header() -> None:
    behind = utcnow() - timedelta(minutes=5)
    response = httpx.Response(200, headers={"Date": format_datetime(behind, True)})
    assert clock_skew(response) == pytest.approx(300, abs=2)
    assert clock_skew(httpx.Response(200)) is None
