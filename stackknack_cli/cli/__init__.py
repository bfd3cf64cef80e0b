"""The ``stackknack`` command line.

Exit codes: 0 success; 1 error; 2 usage error; 3 sync left pushes queued (a channel is
down or lagging); 4 an oversell was flagged; 5 a channel needs a new consent;
6 reconcile found drift; 130 interrupted.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from typing import Annotated

import typer

from stackknack_cli import __version__
from stackknack_cli.cli import state

app = typer.Typer(
    name="stackknack",
    help="Keep one inventory in sync across Shopify, eBay, StockX and Clover POS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stackknack {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="STACKKNACK_DB",
            help="Database file (default: in STACKKNACK_HOME or the user data folder).",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only errors and results.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what happens on stderr.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Keep one inventory in sync across Shopify, eBay, StockX and Clover POS."""
    from stackknack_cli import console

    state.db_option = db
    console.quiet = quiet
    level = logging.INFO if verbose else logging.WARNING
    if quiet and not verbose:
        level = logging.ERROR  # cron: retries are not news, failures are
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _register() -> None:
    from stackknack_cli.cli import (
        connect,
        demo,
        doctor,
        importing,
        inventory,
        reports,
        sandbox,
        shopify,
        syncing,
        watch,
    )

    app.add_typer(connect.app, name="connect")
    app.add_typer(importing.app, name="import")
    app.add_typer(sandbox.app, name="sandbox")
    app.add_typer(shopify.app, name="shopify")
    app.command("sync")(syncing.sync)
    app.command("stock")(reports.stock)
    app.command("outbox")(reports.outbox_cmd)
    app.add_typer(reports.oversells_app, name="oversells")
    app.command("sales")(reports.sales)
    app.command("doctor")(doctor.doctor)
    app.command("adjust", context_settings={"ignore_unknown_options": True})(
        inventory.adjust
    )
    app.command("explain")(inventory.explain)
    app.command("reconcile")(inventory.reconcile)
    app.add_typer(inventory.rules_app, name="rules")
    app.command("demo")(demo.demo)
    app.command("watch")(watch.watch)
    app.add_typer(watch.webhooks_app, name="webhooks")


_register()


def run(args: list[str] | None = None) -> int:
    """Run the CLI with ``args`` (default: the command line); return the exit code.

    A stackknack error becomes one line on stderr, never a traceback.
    """
    from stackknack_cli import console
    from stackknack_cli.errors import StackknackError

    try:
        app(args=args, prog_name="stackknack")
    except SystemExit as exc:  # click's own exit, usage errors (2) included
        return exc.code if isinstance(exc.code, int) else 0
    except StackknackError as exc:
        console.error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        console.err.print("\ninterrupted; nothing is lost, the next run continues")
        return 130
    except sqlite3.DatabaseError as exc:
        # Met past opening (a damaged page is found only when it is read).
        from stackknack_cli import config
        from stackknack_cli.cli import state

        console.error(
            f"database {config.db_path(state.db_option)}: {exc}; if it is damaged, "
            "restore a backup (docs/operations.md)"
        )
        return 1
    return 0


def main() -> None:
    """The ``stackknack`` console script."""
    sys.exit(run())
