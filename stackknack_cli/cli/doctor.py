"""``stackknack doctor``: check credentials, secrets, clock, database and outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from stackknack_cli import console
from stackknack_cli.cli.state import opened_store

if TYPE_CHECKING:
    from stackknack_cli.channels.registry import ChannelConfig
    from stackknack_cli.credentials import Credentials
    from stackknack_cli.engine.doctor import Check
    from stackknack_cli.store.db import Store


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check every channel's credentials, the secret store, the clock, the database
    and the outbox; print each problem with the command that fixes it.

    Exit code 1 when something is wrong.
    """
    from stackknack_cli import config as paths
    from stackknack_cli.channels import registry
    from stackknack_cli.cli import state
    from stackknack_cli.credentials import Credentials
    from stackknack_cli.engine import doctor as checks

    results: list[Check] = []
    path = paths.db_path(state.db_option)
    if not path.exists():
        fix = "check --db or STACKKNACK_DB, or start with: stackknack import csv FILE"
        missing = checks.Check("database", False, f"no database at {path}", fix)
        _report([missing], as_json)
        raise typer.Exit(1)
    with opened_store() as store:
        results.extend(checks.check_database(store))
        results.append(checks.check_secrets())
        configs = registry.load(store)
        if not configs:
            fix = "stackknack connect shopify (or clover)"
            results.append(checks.Check("channels", False, "none connected", fix))
        credentials = Credentials(store.install_id)
        for config in configs.values():
            results.extend(_channel_checks(store, config, credentials))
        results.extend(checks.check_outbox(store))

    _report(results, as_json)
    if not all(check.ok for check in results):
        raise typer.Exit(1)


def _report(results: list[Check], as_json: bool) -> None:
    healthy = all(check.ok for check in results)
    if as_json:
        console.print_json(
            {"ok": healthy, "checks": [check.as_dict() for check in results]}
        )
        return
    for check in results:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        line = f"{mark} {check.name}: {console.escape(check.detail)}"
        if check.fix:
            line += f"\n      fix: {console.escape(check.fix)}"
        console.out.print(line)


def _channel_checks(
    store: Store, config: ChannelConfig, credentials: Credentials
) -> list[Check]:
    from stackknack_cli.channels import registry
    from stackknack_cli.channels.http import RetryPolicy
    from stackknack_cli.engine import doctor as checks
    from stackknack_cli.store.usage import shared_usage

    quick = RetryPolicy(attempts=2, base_wait=0.2)
    # The day's StockX budget and spacing are shared with watch and sync.
    usage = shared_usage(store)
    with registry.http_client(config.base_url) as client:

        def probe() -> str:
            built = registry.build(
                config, credentials, client, policy=quick, usage=usage
            )
            return built.check()

        found = [
            checks.check_channel(config.name, probe),
            checks.check_clock(config.name, client, config.base_url),
        ]
        if config.name == "shopify" and found[0].ok:
            channel: Any = registry.build(config, credentials, client, policy=quick)
            found.append(checks.check_shopify_scopes(channel))
            found.append(checks.check_shopify_locations(channel, config.settings))
            found.extend(checks.check_shopify_listings(store, channel, config.settings))
            if credentials.get("shopify", "webhook_secret"):
                found.append(checks.check_shopify_webhooks(channel))
    if usage is not None:
        usage.close()
    return found
