"""`vitrina orgs|users|apikeys`: setting up organisations, users and API keys from a shell.

Errors print their message on stderr and exit with status 1; nothing is half-saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from core.db import session_scope
from core.errors import VitrinaError
from marketplace_api.identity import service as identity
from marketplace_api.identity.models import ApiKeyKind, OrganisationKind, Role

orgs_app = typer.Typer(help="Organisations: the retailer and its suppliers.",
                       no_args_is_help=True)
users_app = typer.Typer(help="Users of the web cabinet.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys for the retailer's mobile app and checkout.",
                          no_args_is_help=True)


@contextmanager
def _transaction() -> Iterator[Session]:
    try:
        with session_scope() as db:
            yield db
    except VitrinaError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc


@orgs_app.command("create")
def create_organisation(
    name: Annotated[str, typer.Option(help="The organisation's name.")],
    kind: Annotated[OrganisationKind, typer.Option(help="retailer or supplier.")],
    supplier_id: Annotated[str | None, typer.Option(
        help="For a supplier: the retailer's supplier id it stands for.")] = None,
) -> None:
    """Create an organisation."""
    with _transaction() as db:
        organisation = identity.create_organisation(db=db, name=name, kind=kind,
                                                    supplier_id=supplier_id)
        line = f"organisation {organisation.id}: {organisation.name} ({organisation.kind})"
    typer.echo(line)


@users_app.command("create")
def create_user(
    email: Annotated[str, typer.Option(help="The login.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    org: Annotated[str, typer.Option(help="The organisation's id or exact name.")],
    password: Annotated[str, typer.Option(
        prompt=True, hide_input=True, confirmation_prompt=True,
        help="At least 10 characters; asked for when not given.")],
    name: Annotated[str, typer.Option(help="The user's full name.")] = "",
) -> None:
    """Create a user in an organisation."""
    with _transaction() as db:
        organisation = identity.find_organisation(db=db, ref=org)
        user = identity.create_user(db=db, organisation=organisation, email=email,
                                    password=password, role=role, full_name=name)
        line = f"user {user.id}: {user.email} ({user.role}) in {organisation.name}"
    typer.echo(line)


@apikeys_app.command("create")
def create_api_key(
    kind: Annotated[ApiKeyKind, typer.Option(help="app (the mobile app) or pos (checkout).")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'iOS app'.")],
    org: Annotated[str | None, typer.Option(
        help="The organisation's id or name (default: the retailer).")] = None,
) -> None:
    """Create an API key and print its secret, once."""
    with _transaction() as db:
        organisation = (identity.find_organisation(db=db, ref=org) if org
                        else identity.retailer_organisation(db=db))
        issued = identity.create_api_key(db=db, organisation=organisation, kind=kind,
                                         name=name)
        line = f"API key {issued.api_key.id} ({issued.api_key.kind}, {issued.api_key.name})"
    typer.echo(line, err=True)
    typer.echo("Store this secret now: it will not be shown again.", err=True)
    typer.echo(issued.secret)
