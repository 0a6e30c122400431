"""The demo: a simulated retailer on the embedded database, with users and API keys.

`vitrina demo setup` does everything `make demo` needs before serving and can be run again
(it keeps what exists and does not import the same data twice); `vitrina demo serve`
prints the URLs and logins and serves the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import migrate
from core.db import get_engine, session_scope
from core.settings import get_settings

DEMO_PASSWORD = "vitrina-demo-2026"
DEMO_CUSTOMERS = 20_000
DEMO_WEEKS = 26
DEMO_SEED = 7
RETAILER_NAME = "Витрина Ритейл"
DEMO_USERS = (  # role, organisation ("retailer" or "supplier"), email
    ("supplier_manager", "supplier", "supplier@demo.vitrina.ru"),
    ("retail_marketer", "retailer", "marketer@demo.vitrina.ru"),
    ("finance_officer", "retailer", "finance@demo.vitrina.ru"),
    ("admin", "retailer", "admin@demo.vitrina.ru"),
)

app = typer.Typer(help="The demo retailer.", no_args_is_help=True)


@dataclass
class DemoLogins:
    users: dict[str, str] = field(default_factory=dict)  # role -> email
    api_keys: dict[str, str] = field(default_factory=dict)  # kind -> secret
    supplier_name: str = ""


def _credentials_file() -> Path:
    return get_settings().data_dir / "demo-credentials.json"


def _import_marker(data: Path) -> Path:
    return data / ".imported"


def _database_identity() -> str:
    return get_engine().url.render_as_string(hide_password=True)


def setup_demo(*, customers: int = DEMO_CUSTOMERS, weeks: int = DEMO_WEEKS,
               seed: int = DEMO_SEED, echo: Callable[[str], object] = print) -> DemoLogins:
    """Migrate, simulate and import a retailer, then create the demo users and keys."""
    from retail.importing import import_folder
    from retail.simulator import simulate

    settings = get_settings()
    migrate.upgrade()
    echo("database migrated")

    data = settings.data_dir / f"demo-data-{customers}x{weeks}-s{seed}"
    if not (data / "truth" / "market.json").exists():
        summary = simulate(customers=customers, weeks=weeks, seed=seed, out=data)
        echo(f"simulated {customers:,} shoppers × {weeks} weeks: "
             f"{summary.lines:,} receipt lines")
    marker = _import_marker(data)
    if marker.exists() and marker.read_text() == _database_identity():
        echo(f"demo data already imported from {data}")
    else:
        report = import_folder(folder=data, progress=True)
        echo("imported " + ", ".join(f"{table.table}: {table.imported:,}"
                                     for table in report.tables))
        marker.write_text(_database_identity())

    from audience import service as audience

    with session_scope() as db:
        features_missing = audience.latest_build(db=db) is None
    if features_missing:
        build = audience.build_features()
        echo(f"customer features built: {build.customers:,} shoppers from "
             f"{build.lines:,} receipt lines in {build.seconds:.1f} s")

    from pricing_ai import service as pricing

    with session_scope() as db:
        models_missing = db.scalars(pricing.select_models().limit(1)).first() is None
    if models_missing:
        pricing.train_all(echo=echo)

    with session_scope() as db:
        logins = _ensure_logins(db)
    path = _credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(logins), ensure_ascii=False, indent=2))
    path.chmod(0o600)
    return logins


def _ensure_logins(db: Session) -> DemoLogins:
    from marketplace_api.identity import errors as identity_errors
    from marketplace_api.identity import service as identity
    from marketplace_api.identity.models import (
        ApiKeyKind,
        Organisation,
        OrganisationKind,
        Role,
        User,
    )
    from retail.models import Product, Supplier

    # The demo supplier is the one with the most products: the richest campaigns.
    supplier = db.execute(
        select(Supplier).join(Product, Product.supplier_id == Supplier.supplier_id)
        .group_by(Supplier.supplier_id).order_by(func.count().desc(), Supplier.supplier_id)
        .limit(1)).scalar_one()
    organisations = {
        "retailer": db.scalar(select(Organisation).where(
            Organisation.kind == OrganisationKind.retailer)) or identity.create_organisation(
            db=db, name=RETAILER_NAME, kind=OrganisationKind.retailer),
        "supplier": db.scalar(select(Organisation).where(
            Organisation.supplier_id == supplier.supplier_id)) or identity.create_organisation(
            db=db, name=supplier.name, kind=OrganisationKind.supplier,
            supplier_id=supplier.supplier_id),
    }
    logins = DemoLogins(supplier_name=supplier.name)
    for role, org, email in DEMO_USERS:
        if db.scalar(select(User.id).where(User.email == email)) is None:
            identity.create_user(db=db, organisation=organisations[org], email=email,
                                 password=DEMO_PASSWORD, role=Role(role),
                                 full_name=f"Demo {role.replace('_', ' ')}")
        logins.users[role] = email

    path = _credentials_file()
    saved = json.loads(path.read_text()).get("api_keys", {}) if path.exists() else {}
    for kind in ApiKeyKind:
        secret = saved.get(kind.value)
        try:
            if not secret:
                raise identity_errors.InvalidApiKey("no saved key")
            identity.verify_api_key(db=db, secret=secret)
        except (identity_errors.InvalidApiKey, identity_errors.ApiKeyRevoked):
            secret = identity.create_api_key(db=db, organisation=organisations["retailer"],
                                             kind=kind, name=f"Demo {kind.value}").secret
        logins.api_keys[kind.value] = secret
    return logins


def describe(logins: DemoLogins, *, host: str = "127.0.0.1", port: int = 8000) -> str:
    base = f"http://{host}:{port}"
    lines = [
        "",
        "Vitrina demo",
        f"  web cabinet   {base}/",
        f"  API docs      {base}/docs",
        f"  health        {base}/healthz",
        f"  logins (password for all: {DEMO_PASSWORD})",
        *(f"    {role:<17} {email}" for role, email in logins.users.items()),
        f"  demo supplier: {logins.supplier_name}",
        *(f"  {kind} API key (X-Api-Key header): {secret}"
          for kind, secret in logins.api_keys.items()),
    ]
    return "\n".join(lines) + "\n"


@app.command("setup")
def setup_command(customers: int = DEMO_CUSTOMERS, weeks: int = DEMO_WEEKS,
                  seed: int = DEMO_SEED) -> None:
    """Migrate, simulate and import a retailer, create demo users and API keys."""
    setup_demo(customers=customers, weeks=weeks, seed=seed, echo=typer.echo)


@app.command("serve")
def serve_command(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Print the demo's URLs and logins (from `demo setup`), then serve the API."""
    import uvicorn

    path = _credentials_file()
    if not path.exists():
        typer.echo("error: run `vitrina demo setup` first", err=True)
        raise typer.Exit(1)
    typer.echo(describe(DemoLogins(**json.loads(path.read_text())), host=host, port=port))
    uvicorn.run("marketplace_api.app:create_app", factory=True, host=host, port=port,
                access_log=False)
