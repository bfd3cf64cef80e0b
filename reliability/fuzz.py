"""Bad input: fuzz the CSV importer and every webhook route with hypothesis.

A refused import must raise one ``StackknackError`` (one line for the user) and leave
the database byte-for-byte as it was; a webhook request must get an answer, never a
500, and an unverified one must change nothing. A few of the generated files also go
through the real ``stackknack import csv`` subprocess, to see what the user sees.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability.figures import Figure
from reliability.profile import Profile
from stackknack_cli.engine.listener import Listener
from stackknack_cli.engine.webhooks import Request, clover, shopify
from stackknack_cli.errors import StackknackError
from stackknack_cli.importers import read_csv
from stackknack_cli.store import Store, inventory, open_store
from stackknack_cli.store.inventory import ItemRecord

SECRET = "fuzz-shopify-secret-0c1d"
CLOVER_AUTH = "fuzz-clover-auth-77aa"
HEADERS = [
    "sku,quantity",
    "SKU,Quantity,Title",
    "Handle,Title,Option1 Value,Variant SKU,Variant Inventory Qty",
    "Handle,Title,Variant SKU,Location,Available",
    "Custom label (SKU),Available quantity,Title",
]
CELLS = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["", "-1", "1.5", "1e9", "NaN", '"', "\x00", "=cmd()", "ABC-1"]),
)


def snapshot(store: Store) -> list[Any]:
    """Return every row the importer may touch, to compare before and after."""
    tables = ("items", "journal", "outbox", "listings", "webhook_events", "sales")
    return [
        store.conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
        for table in tables
    ]


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from(HEADERS + [draw(st.text(max_size=30))]))
    width = len(header.split(","))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=width + 1), max_size=6))
    text = header + "\n" + "\n".join(",".join(row) for row in rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data += draw(st.binary(max_size=20))
    return data


def _import(store: Store, path: Path) -> str:
    """Import ``path``; return "ok", "refused" or what crashed."""
    try:
        with read_csv(path) as plan:
            records = (ItemRecord(r.sku, r.quantity, r.title) for r in plan)
            inventory.set_quantities(store, records, cause="fuzz")
    except StackknackError as exc:
        text = str(exc)
        return "refused" if text and "\n" not in text.strip() else f"unclear: {text!r}"
    except Exception as exc:
        return f"crash: {type(exc).__name__}: {exc}"
    return "ok"


def fuzz_importer(figure: Figure, workdir: Path, examples: int) -> list[Path]:
    """Import generated files; return the paths of some refused ones."""
    store = open_store(workdir / "fuzz-import.db")
    inventory.set_quantities(store, [ItemRecord("KEEP-1", 5, "kept")], cause="seed")
    refused: list[Path] = []
    counter = iter(range(10**9))

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(csv_files())
    def one(data: bytes) -> None:
        path = workdir / f"fuzz-{next(counter)}.csv"
        path.write_bytes(data)
        before = snapshot(store)
        outcome = _import(store, path)
        figure.events += 1
        if outcome == "refused":
            figure.check(
                snapshot(store) == before, f"{path.name}: refused, yet written"
            )
            if len(refused) < 3:
                refused.append(path)
        else:
            figure.check(outcome == "ok", f"{path.name}: {outcome}")
            path.unlink()

    try:
        one()
    finally:
        store.close()
    return refused


def check_cli(
    figure: Figure, workdir: Path, paths: list[Path], env: dict[str, str]
) -> None:
    """Run the real command on refused files: one ``Error:`` line, no traceback."""
    for path in paths:
        done = subprocess.run(
            [sys.executable, "-m", "stackknack_cli", "import", "csv", str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        figure.check(
            done.returncode != 0
            and len(lines) == 1
            and lines[0].startswith("Error:")
            and "Traceback" not in done.stderr,
            f"import csv {path.name}: exit {done.returncode}, stderr {done.stderr!r}",
        )


@st.composite
def requests(draw: st.DrawFn) -> Request:
    route = draw(st.sampled_from(["shopify", "clover", "ebay", "other", ""]))
    body = draw(
        st.one_of(
            st.binary(max_size=200),
            st.sampled_from([b"{}", b"[]", b'{"verificationCode": ""}', b"null"]),
            st.dictionaries(st.text(max_size=8), st.text(max_size=8)).map(
                lambda d: repr(d).encode()
            ),
        )
    )
    headers = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "x-shopify-hmac-sha256",
                    "x-shopify-topic",
                    "x-shopify-event-id",
                    "x-clover-auth",
                    "x-ebay-signature",
                    "content-type",
                ]
            ),
            st.text(max_size=40),
            max_size=4,
        )
    )
    if draw(st.booleans()):
        # Some requests are signed correctly, so the body is read and stored.
        headers["x-shopify-hmac-sha256"] = shopify.sign(body, SECRET)
    method = draw(st.sampled_from(["POST", "GET", "PUT"]))
    return Request(method, f"/webhooks/{route}", {}, headers, body)


def fuzz_webhooks(figure: Figure, workdir: Path, examples: int) -> None:
    from stackknack_cli.engine import events

    db = workdir / "fuzz-hooks.db"
    open_store(db).close()
    verifiers = {
        "shopify": shopify.ShopifyVerifier(SECRET),
        "clover": clover.CloverVerifier(CLOVER_AUTH),
    }
    listener = Listener(db, verifiers, port=0).start()
    store = open_store(db)

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(requests())
    def one(request: Request) -> None:
        before = snapshot(store)
        try:
            status, _ = listener.handle(request)
        except Exception as exc:
            figure.check(False, f"{request.path}: {type(exc).__name__}: {exc}")
            return
        figure.events += 1
        figure.check(status != 500, f"{request.path}: answered 500")
        if status != 200:
            figure.check(
                snapshot(store) == before, f"{request.path}: refused, yet written"
            )
        try:
            plan = events.plan_reads(store, {"shopify", "clover"})
        except Exception as exc:
            figure.check(
                False, f"processing a stored event: {type(exc).__name__}: {exc}"
            )
            return
        for ids in plan.event_ids.values():
            events.finish(store, ids)

    try:
        one()
    finally:
        listener.stop()
        store.close()


def run(profile: Profile, workdir: Path) -> Figure:
    figure = Figure("bad input (fuzzed CSV and webhooks)")
    folder = workdir / "fuzz"
    folder.mkdir(parents=True, exist_ok=True)
    refused = fuzz_importer(figure, folder, profile.fuzz_examples)
    env = {
        "PATH": "/usr/bin:/bin",
        "STACKKNACK_HOME": str(folder / "home"),
        "STACKKNACK_CREDENTIALS": "file",
        "NO_COLOR": "1",
    }
    check_cli(figure, folder, refused, env)
    fuzz_webhooks(figure, folder, profile.fuzz_examples)
    figure.runs = 2 * profile.fuzz_examples
    figure.notes.append(
        f"{profile.fuzz_examples} generated CSV files and {profile.fuzz_examples} "
        "generated webhook requests (hypothesis, derandomized); "
        f"{len(refused)} refused files also run through `stackknack import csv`"
    )
    return figure
