"""`vitrina ledger …`: checks on the ledger from the command line."""

from __future__ import annotations

import typer

from billing import service as billing
from core.db import session_scope

ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)


@ledger_app.command("check")
def check() -> None:
    """Verify the ledger's invariants: prints "ok" (exit 0) or every broken one (exit 1)."""
    with session_scope() as db:
        problems = billing.check_ledger(db=db)
    if not problems:
        typer.echo("ok")
        return
    for problem in problems:
        typer.echo(problem)
    raise typer.Exit(code=1)
