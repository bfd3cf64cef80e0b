"""``stackknack sandbox``: run the local simulators, and sell on them as a shopper."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from stackknack_cli import console
from stackknack_cli.errors import InputError

app = typer.Typer(
    help="Run local Shopify, Clover, eBay and StockX simulators on 127.0.0.1."
)


@app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    catalog: Annotated[
        Path | None,
        typer.Option(
            help="List this CSV's SKUs on both simulators (default: sneakers)."
        ),
    ] = None,
    empty: Annotated[bool, typer.Option(help="Start with no products at all.")] = False,
) -> None:
    """Serve the simulators until Ctrl-C; print their URLs and credentials as JSON.

    Example: stackknack sandbox > sandbox.json, then in another terminal
    jq -r .shopify.access_token sandbox.json | stackknack connect shopify
    --shop sandbox --base-url "$(jq -r .shopify.base_url sandbox.json)"
    """
    if ctx.invoked_subcommand is not None:
        return
    from stackknack_cli.importers import read_csv
    from stackknack_cli.sandbox import runtime

    with runtime.Sandbox() as sandbox:
        if not empty:
            source = catalog or runtime.CATALOG
            with read_csv(source) as plan:
                items = [(r.sku, r.title, r.quantity) for r in plan]
            sandbox.seed(items, runtime.catalog_prices(source))
        # Handlers first: a signal from now on always removes the state file.
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        path = runtime.write_state(sandbox)
        console.print_json(sandbox.describe())
        sys.stdout.flush()
        console.info(f"sandbox running; addresses in {path}; Ctrl-C stops it")
        try:
            stop.wait()
        finally:
            path.unlink(missing_ok=True)
        console.info("sandbox stopped")


@app.command("sell")
def sell(
    channel: Annotated[str, typer.Option(help="shopify, clover, ebay or stockx.")],
    sku: Annotated[str, typer.Option(help="The SKU to sell.")],
    quantity: Annotated[int, typer.Option(min=1, help="Units to sell.")] = 1,
) -> None:
    """Make a sale on a running sandbox, as a shopper (or a cashier) would."""
    import httpx

    from stackknack_cli.sandbox import runtime

    urls = runtime.read_state()
    if channel not in urls:
        raise InputError(f"unknown channel {channel!r}; use one of {', '.join(urls)}")
    body: dict[str, object] = {"sku": sku, "quantity": quantity}
    if channel == "stockx":
        # StockX knows no SKU: a buyer picks a style and a size.
        from stackknack_cli.channels.stockx_catalog import sku_style_size

        parts = sku_style_size(sku)
        if parts is None or quantity != 1:
            raise InputError(
                f"on stockx sell one unit of a SKU made of style and size, not {sku!r}"
            )
        body = {"style_id": parts[0], "size": parts[1]}
    try:
        response = httpx.post(
            f"{urls[channel]}/_sandbox/sell", json=body, trust_env=False, timeout=10
        )
    except httpx.TransportError as exc:
        raise InputError(
            f"the sandbox at {urls[channel]} did not answer: {exc}"
        ) from None
    if response.status_code >= 400:
        raise InputError(
            f"{channel} refused the sale of {sku!r}: {response.text.strip()}"
        )
    console.print_json(response.json())
