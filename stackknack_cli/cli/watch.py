"""``stackknack watch``: the live loop, with the webhook listener and the dashboard;
``stackknack webhooks``: the secrets the listener checks and the alert URLs."""

from __future__ import annotations

import re
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Annotated, Any

import typer

from stackknack_cli import console
from stackknack_cli.cli.state import opened_store
from stackknack_cli.errors import InputError

ALERT_URLS = ("alerts", "urls")
"""Where the notification URLs are kept in the credentials store (they hold tokens)."""

webhooks_app = typer.Typer(
    help="Secrets for watch --webhooks, and where alerts go.", no_args_is_help=True
)


def _intervals(every: list[str] | None) -> dict[str, float]:
    from stackknack_cli.channels.registry import KNOWN

    found: dict[str, float] = {}
    for item in every or []:
        name, _, seconds = item.partition("=")
        if name.strip() not in KNOWN:
            raise InputError(
                f"--every {item!r}: unknown channel {name.strip()!r}; "
                f"known: {', '.join(KNOWN)}"
            )
        try:
            found[name.strip()] = float(seconds)
        except ValueError:
            raise InputError(f"--every wants CHANNEL=SECONDS, not {item!r}") from None
        if found[name.strip()] <= 0:
            raise InputError(f"--every {item}: seconds must be above 0")
    return found


def _address(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--listen wants HOST:PORT (port 1-65535), not {listen!r}")
    return host, int(port)


@contextmanager
def _signals(stop: threading.Event, wake: threading.Event) -> Iterator[None]:
    """First Ctrl-C or SIGTERM: finish the work under way; second: stop at once."""

    def handle(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        wake.set()
        console.info("stopping after the work under way; Ctrl-C again stops at once")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def watch(
    channel: Annotated[
        list[str] | None,
        typer.Option("--channel", "-c", help="Only these channels (repeatable)."),
    ] = None,
    webhooks: Annotated[
        bool, typer.Option("--webhooks", help="Run the webhook listener too.")
    ] = False,
    listen: Annotated[
        str, typer.Option("--listen", help="Listener address (HOST:PORT).")
    ] = "127.0.0.1:8787",
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            envvar="STACKKNACK_PUBLIC_URL",
            help="Public base URL of the listener (needed for eBay's challenge).",
        ),
    ] = None,
    every: Annotated[
        list[str] | None,
        typer.Option("--every", help="Poll CHANNEL every SECONDS: clover=10."),
    ] = None,
    notify: Annotated[
        list[str] | None,
        typer.Option("--notify", help="Also send alerts to this apprise URL."),
    ] = None,
    alert_after: Annotated[
        float,
        typer.Option(
            "--alert-after", help="Seconds a channel may fail before an alert."
        ),
    ] = 300.0,
    plain: Annotated[
        bool, typer.Option("--plain", help="Log lines instead of the live screen.")
    ] = False,
) -> None:
    """Keep every channel in step until stopped: poll sales, apply them, push at once.

    Example: stackknack watch --webhooks --public-url https://sync.example.com

    Exit codes: 0 stopped by Ctrl-C or SIGTERM after the work under way; 1 error;
    2 usage; 130 a second Ctrl-C stopped it at once (the next run resumes).
    """
    from stackknack_cli.channels import registry
    from stackknack_cli.credentials import Credentials
    from stackknack_cli.engine.alerts import Alerts, AppriseSender
    from stackknack_cli.engine.watch import Watcher

    intervals = _intervals(every)
    stop, wake = threading.Event(), threading.Event()
    live = not plain and console.err.is_terminal
    with ExitStack() as stack:
        store = stack.enter_context(opened_store())
        credentials = Credentials(store.install_id)
        channels = stack.enter_context(
            registry.connected_channels(store, channel, credentials=credentials)
        )
        configs = registry.load(store)
        urls = list(notify or []) + _stored_urls(credentials)
        alerts = Alerts(
            store, [AppriseSender(urls)] if urls else [], failing_after=alert_after
        )
        stack.callback(alerts.close)
        watcher = Watcher(
            store,
            channels,
            intervals=intervals,
            stop=stop,
            wake=wake,
            alerts=alerts,
            merchants={
                name: str(c.settings["merchant_id"])
                for name, c in configs.items()
                if "merchant_id" in c.settings
            },
        )
        if webhooks:
            listener = _start_listener(
                store, credentials, configs, listen, public_url, watcher, stack
            )
            watcher.listener = listener.base_url
        _show(watcher, live=live, stack=stack)
        stack.enter_context(_signals(stop, wake))
        watcher.run()


def _show(watcher: Any, *, live: bool, stack: ExitStack) -> None:
    from stackknack_cli.cli import dashboard

    if not live:
        watcher.on_line = dashboard.plain_line
        dashboard.plain_line(f"watch: started for {', '.join(watcher.channels)}")
        return
    from rich.live import Live

    screen = dashboard.Dashboard()
    watcher.on_line = screen.line
    watcher.on_status = screen.update
    _log_to(screen.line, stack)
    stack.enter_context(
        Live(screen, console=console.err, refresh_per_second=2, transient=False)
    )


def _log_to(line: Any, stack: ExitStack) -> None:
    """Show warnings on the live screen: a line written past it would tear it."""
    import logging

    class ToScreen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            line(f"{record.levelname.lower()}: {record.getMessage()}")

    root = logging.getLogger()
    before = root.handlers[:]
    for handler in before:
        root.removeHandler(handler)
    root.addHandler(ToScreen(logging.WARNING))

    def restore() -> None:
        root.handlers[:] = before

    stack.callback(restore)


def _start_listener(
    store: Any,
    credentials: Any,
    configs: Mapping[str, Any],
    listen: str,
    public_url: str | None,
    watcher: Any,
    stack: ExitStack,
) -> Any:
    from stackknack_cli.engine.listener import Listener

    verifiers = build_verifiers(credentials, configs, public_url, stack)
    if not verifiers:
        raise InputError(
            "no webhook secret is set; run: stackknack webhooks set-secret shopify"
        )
    host, port = _address(listen)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.warn(
            f"listening on {host}, not loopback: anyone who can reach this machine "
            "can post to it (signatures are still checked); prefer 127.0.0.1 behind "
            "a tunnel or reverse proxy (docs/watch.md)"
        )
    try:
        listener = Listener(
            store.path,
            verifiers,
            host=host,
            port=port,
            on_event=lambda name: watcher.wake.set(),
            on_notice=lambda text: watcher.on_line(text),
        ).start()
    except OSError as exc:  # in use, not an address of this machine, not allowed
        raise InputError(
            f"--listen {listen}: cannot listen there: {exc.strerror or exc}"
        ) from None
    stack.callback(listener.stop)
    watcher.on_line(
        f"listening for {', '.join(sorted(verifiers))} webhooks on "
        f"http://{host}:{port} (secrets set later need a restart)"
    )
    return listener


def build_verifiers(
    credentials: Any,
    configs: Mapping[str, Any],
    public_url: str | None,
    stack: ExitStack,
) -> dict[str, Any]:
    """Return a verifier for every platform whose webhook secret is stored."""
    from stackknack_cli.channels import registry
    from stackknack_cli.engine.webhooks import SECRET_FIELDS
    from stackknack_cli.engine.webhooks.clover import CloverVerifier
    from stackknack_cli.engine.webhooks.ebay import (
        AppToken,
        EbayVerifier,
        NotificationKeys,
    )
    from stackknack_cli.engine.webhooks.shopify import ShopifyVerifier

    found: dict[str, Any] = {}
    if secret := credentials.get("shopify", SECRET_FIELDS["shopify"]):
        found["shopify"] = ShopifyVerifier(secret)
    # Clover's verification POST must be answered before its auth code exists.
    if "clover" in configs or credentials.get("clover", SECRET_FIELDS["clover"]):
        found["clover"] = CloverVerifier(
            credentials.get("clover", SECRET_FIELDS["clover"])
        )
    token = credentials.get("ebay", SECRET_FIELDS["ebay"])
    if token:
        keys = None
        app = credentials.get_json("ebay", "oauth") or {}
        if "ebay" in configs and app.get("client_id") and app.get("client_secret"):
            base = configs["ebay"].base_url
            client = stack.enter_context(registry.http_client(base))
            token_for = AppToken(
                client, base, str(app["client_id"]), str(app["client_secret"])
            )
            keys = NotificationKeys(client, base, token_for).get
        endpoint = public_url.rstrip("/") + "/webhooks/ebay" if public_url else None
        found["ebay"] = EbayVerifier(token, endpoint, keys)
    return found


def _stored_urls(credentials: Any) -> list[str]:
    raw = credentials.get(*ALERT_URLS) or ""
    return [line.strip() for line in raw.splitlines() if line.strip()]


def _read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, hide_input=True)).strip()
    return sys.stdin.read().strip()


EBAY_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,80}")


@webhooks_app.command("set-secret")
def set_secret(
    channel: Annotated[str, typer.Argument(help="shopify, clover or ebay.")],
) -> None:
    """Store a platform's webhook secret, read from stdin or a hidden prompt.

    shopify: the app's client secret; clover: the X-Clover-Auth code from the
    Developer Dashboard; ebay: the destination's verification token.
    """
    from stackknack_cli.credentials import Credentials
    from stackknack_cli.engine.webhooks import SECRET_FIELDS

    if channel not in SECRET_FIELDS:
        raise InputError(
            f"no webhook secret for {channel!r}; use shopify, clover or ebay"
        )
    value = _read_secret(f"{channel} webhook secret")
    if not value:
        raise InputError("empty secret; nothing stored")
    if channel == "ebay" and not EBAY_TOKEN.fullmatch(value):
        raise InputError(
            "an eBay verification token is 32 to 80 letters, digits, _ or -; "
            "nothing stored"
        )
    with opened_store() as store:
        Credentials(store.install_id).set(channel, SECRET_FIELDS[channel], value)
    console.info(f"{channel} webhook secret stored")


@webhooks_app.command("set-alert-urls")
def set_alert_urls() -> None:
    """Store the apprise URLs alerts go to, one per line on stdin (empty: none).

    Example: echo "ntfy://my-topic" | stackknack webhooks set-alert-urls
    """
    from stackknack_cli.credentials import Credentials

    urls = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
    with opened_store() as store:
        credentials = Credentials(store.install_id)
        if urls:
            credentials.set(*ALERT_URLS, "\n".join(urls))
        else:
            credentials.delete(*ALERT_URLS)
    console.info(f"{len(urls)} alert URL(s) stored")


SHOPIFY_TOPICS = (
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_CANCELLED",
    "REFUNDS_CREATE",
)
"""The Shopify webhooks that make ``watch`` read a sale at once."""


def _callback_url(url: str) -> str:
    """Return URL/webhooks/shopify, refusing what Shopify would not deliver to."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise InputError(f"Shopify sends webhooks to HTTPS addresses only, not {url!r}")
    if not parts.hostname or parts.query or parts.fragment or " " in url.strip():
        raise InputError(
            f"--url {url!r} is not a plain base URL (https://host[/path], "
            "no spaces, query or fragment)"
        )
    return f"https://{parts.netloc}{parts.path.rstrip('/')}/webhooks/shopify"


@webhooks_app.command("subscribe")
def subscribe(
    channel: Annotated[str, typer.Argument(help="shopify (the only one with an API).")],
    url: Annotated[
        str,
        typer.Option(
            help="The listener's public HTTPS base URL (a tunnel or reverse proxy)."
        ),
    ],
) -> None:
    """Create the platform's webhook subscriptions that point at the listener.

    Shopify: orders created, updated and cancelled, and refunds, sent to
    URL/webhooks/shopify. Subscriptions already there are kept. Clover and eBay are
    set up on their developer dashboards (see docs/watch.md).
    """
    from stackknack_cli.channels import registry

    if channel != "shopify":
        raise InputError(
            f"{channel} webhooks are set up on its developer dashboard; "
            "see docs/watch.md"
        )
    callback = _callback_url(url)
    with (
        opened_store(create=False) as store,
        registry.connected_channels(store, ["shopify"]) as channels,
    ):
        shop: Any = channels["shopify"]
        present = {
            topic
            for topic, address in shop.webhook_subscriptions()
            if address == callback
        }
        created = 0
        for topic in SHOPIFY_TOPICS:
            if topic not in present:
                shop.subscribe(topic, callback)
                created += 1
    console.out.print(
        f"shopify webhooks to {console.escape(callback)}: "
        f"{created} created, {len(present & set(SHOPIFY_TOPICS))} already there"
    )
