"""`vitrina models …`: train the pricing models on the retailer's data, or evaluate the
whole approach on a simulated retailer against its truth."""

from __future__ import annotations

import json
from pathlib import Path

import typer

models_app = typer.Typer(help="Pricing models: train, evaluate.", no_args_is_help=True)

COMPLETEJOURNEY = Path("../shared/data/completejourney_sample")


@models_app.command("train")
def train_command(label_weeks: int = typer.Option(12, help="weeks at the end to learn from"),
                  rows: int = typer.Option(1_000_000, help="response-model training rows"),
                  ) -> None:
    """Train on every receipt, save the next model version and publish shopper scores."""
    from pricing_ai import service

    report = service.train(label_weeks=label_weeks, rows=rows, echo=typer.echo)
    typer.echo(json.dumps({"version": report.version, "path": str(report.path),
                           "shoppers_scored": report.shoppers_scored,
                           "seconds": round(report.seconds, 1)}))


@models_app.command("evaluate")
def evaluate_command(customers: int = typer.Option(50_000), weeks: int = typer.Option(52),
                     seed: int = typer.Option(42), out: Path = typer.Option(Path("var/eval")),
                     rows: int = typer.Option(1_000_000),
                     campaigns: int = typer.Option(24, help="forecast backtest campaigns"),
                     completejourney: Path = typer.Option(
                         COMPLETEJOURNEY, help="Complete Journey sample (skipped if absent)"),
                     ) -> None:
    """Simulate a retailer, train on it, evaluate against its truth. Writes
    OUT/report.json and PNG plots; the last line printed is the summary as JSON."""
    from pricing_ai.evaluation import EvaluationSettings, evaluate

    report = evaluate(customers=customers, weeks=weeks, seed=seed, out=out,
                      completejourney=completejourney,
                      settings=EvaluationSettings(rows=rows, campaigns=campaigns, seed=seed),
                      say=typer.echo)
    typer.echo(json.dumps(report["summary"]))
