"""The `vitrina` command: one entry point, a sub-command group per domain."""

from __future__ import annotations

import typer

from core import migrate

app = typer.Typer(help="Vitrina: supplier discounts in the retailer's app.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    migrate.upgrade(revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ('base' undoes all)."""
    migrate.downgrade(revision)
    typer.echo(f"database at {revision}")


@app.command("serve")
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the API (and the web cabinet) with uvicorn."""
    import uvicorn

    uvicorn.run("marketplace_api.app:create_app", factory=True, host=host, port=port,
                workers=workers, access_log=False)


def _register_domain_commands() -> None:
    # Domains add their command groups here as they grow.
    from marketplace_api.identity.cli import apikeys_app, orgs_app, users_app

    app.add_typer(orgs_app, name="orgs")
    app.add_typer(users_app, name="users")
    app.add_typer(apikeys_app, name="apikeys")

    from retail import cli as retail_cli

    # `vitrina import`, `vitrina simulate`: top-level commands, not a `retail` group.
    app.registered_commands += retail_cli.app.registered_commands

    from marketplace_api.demo import app as demo_app

    app.add_typer(demo_app, name="demo")

    from billing.cli import ledger_app

    app.add_typer(ledger_app, name="ledger")

    from audience.cli import features_app

    app.add_typer(features_app, name="features")

    from pricing_ai.cli import models_app

    app.add_typer(models_app, name="models")


_register_domain_commands()


def main() -> None:
    app()
