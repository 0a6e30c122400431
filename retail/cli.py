"""The retail commands of `vitrina`: importing the retailer's data, and simulating a market."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="The retailer's data: simulation and import.")


@app.command("import")
def import_command(
    folder: Path = typer.Argument(..., help="Folder with stores, suppliers, products, "
                                  "customers and receipts as .csv or .parquet."),
    fmt: str = typer.Option("vitrina", "--format",
                            help="vitrina (the data contract) or completejourney."),
    skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows",
                                       help="Leave bad rows out (listed in the rejects "
                                       "file) instead of stopping at the first."),
    rejects: Path | None = typer.Option(None, "--rejects",
                                        help="Where --skip-bad-rows writes the rejected "
                                        "rows (default: FOLDER/rejects.csv)."),
) -> None:
    """Import a folder of the retailer's files in one transaction: all of it, or nothing."""
    from core.settings import get_settings
    from retail.errors import ImportDataError
    from retail.importing import import_folder

    try:
        report = import_folder(folder=folder, fmt=fmt, skip_bad_rows=skip_bad_rows,
                               rejects_path=rejects, progress=True)
    except ImportDataError as exc:
        typer.echo(f"import failed, nothing was imported: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    width = max(len(t.file) for t in report.tables)
    for table in report.tables:
        line = (f"{table.table:<10} {table.file:<{width}}  read {table.read:>9,}  "
                f"inserted {table.inserted:>9,}  updated {table.updated:>9,}  "
                f"unchanged {table.unchanged:>9,}")
        if skip_bad_rows:
            line += f"  rejected {table.rejected:>7,}"
        typer.echo(line)
    settings_currency = get_settings().currency
    foreign = sorted({t.currency for t in report.tables} - {None, settings_currency})
    if foreign:
        typer.echo(f"note: amounts were imported in {', '.join(foreign)}, not in "
                   f"{settings_currency} (CURRENCY); campaigns and prices should share one")
    if skip_bad_rows:
        if report.rejects:
            typer.echo("rejected rows by reason:")
            for reason, count in report.rejects.most_common():
                typer.echo(f"  {reason:<24} {count:>9,}")
        else:
            typer.echo("no rows rejected")
        typer.echo(f"rejects file: {report.rejects_path}")
    lines = sum(t.read for t in report.tables if t.table == "receipts")
    rate = f" ({lines / report.seconds:,.0f} receipt lines/s)" if lines else ""
    typer.echo(f"imported in {report.seconds:.1f} s{rate}")


@app.command("simulate")
def simulate_command(
    customers: int = typer.Option(20_000, "--customers", min=1, help="Shoppers in the world."),
    weeks: int = typer.Option(26, "--weeks", min=1, help="Weeks of receipt history."),
    seed: int = typer.Option(1, "--seed", min=0, help="The same seed makes the same files."),
    out: Path = typer.Option(Path("var/market"), "--out", help="Folder to write into."),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
) -> None:
    """Write a synthetic market in the import contract, with its hidden truth in OUT/truth."""
    from retail.simulator import simulate
    from retail.simulator.files import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    summary = simulate(customers=customers, weeks=weeks, seed=seed, out=out, fmt=fmt)
    width = max(len(name) for name in summary.files)
    for name, rows in summary.files.items():
        typer.echo(f"{name:<{width}}  {rows:>12,} rows")
    typer.echo(f"{summary.receipts:,} receipts, {summary.lines:,} lines, "
               f"{summary.customers:,} customers × {summary.weeks} weeks "
               f"in {summary.seconds:.1f} s → {summary.out}")
