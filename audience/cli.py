"""`vitrina features …`: build customer features and see the builds."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from sqlalchemy import select

from audience import service
from audience.features import DEFAULT_WINDOW_WEEKS
from audience.models import FeatureBuild
from audience.tasks import traits_path
from core.db import session_scope

features_app = typer.Typer(help="Customer features for audiences.", no_args_is_help=True)


@features_app.command("build")
def build(
    window_weeks: int = typer.Option(DEFAULT_WINDOW_WEEKS, min=1, max=520,
                                     help="Weeks of receipts the features look back over."),
    mode: str = typer.Option("auto", help="auto, full or incremental."),
    traits: Path | None = typer.Option(None, exists=True, dir_okay=False,
                                       help="Trait rules (JSON); default DATA_DIR/traits.json "
                                            "if present, else the built-in rules."),
    as_of: datetime | None = typer.Option(None, help="End of the window (UTC); default: the "
                                                     "newest receipt."),
) -> None:
    """Compute customer features from the receipts and publish them."""
    if mode not in ("auto", "full", "incremental"):
        raise typer.BadParameter("mode must be auto, full or incremental")
    if as_of is not None and as_of.tzinfo is None:
        from datetime import UTC

        as_of = as_of.replace(tzinfo=UTC)
    report = service.build_features(window_weeks=window_weeks, mode=mode,
                                    traits_path=traits or traits_path(), as_of=as_of,
                                    echo=typer.echo)
    typer.echo(f"feature build {report.build_id} published ({report.mode.value}): "
               f"{report.customers:,} shoppers ({report.recomputed:,} recomputed) from "
               f"{report.lines:,} receipt lines in {report.seconds:.1f} s "
               f"(read {report.extract_seconds:.1f} s, compute {report.compute_seconds:.1f} s)")


@features_app.command("list")
def list_builds(limit: int = 10) -> None:
    """The newest feature builds."""
    with session_scope() as db:
        builds = db.scalars(select(FeatureBuild).order_by(FeatureBuild.id.desc())
                            .limit(limit)).all()
        for b in builds:
            as_of = f"{b.as_of:%Y-%m-%d %H:%M}" if b.as_of else "-"
            typer.echo(f"{b.id:>5} {b.status.value:<10} {b.mode.value:<12} as of {as_of}  "
                       f"{b.customers:>10,} shoppers {b.lines:>12,} lines {b.seconds:7.1f} s"
                       + (f"  {b.error}" if b.error else ""))
