"""pricing_ai's background work: training the models (and publishing the scores).

Safe to retry: a run saves a new version or nothing, and only a finished run becomes the
active version."""

from __future__ import annotations

from core.celery_app import celery_app
from pricing_ai import service


@celery_app.task(name="pricing_ai.train_models")
def train_models(label_weeks: int = 12, rows: int = 1_000_000) -> dict:
    report = service.train(label_weeks=label_weeks, rows=rows)
    return {"model_id": report.model_id, "version": report.version,
            "shoppers_scored": report.shoppers_scored, "seconds": round(report.seconds, 2)}
