"""Audience's background work: the nightly feature build, and materialising a segment.

Tasks take ids and plain values, open their own sessions, and are safe to retry: a build
publishes a new file or nothing, and a retried materialisation freezes the list anew.
"""

from __future__ import annotations

from pathlib import Path

from audience import service
from core.celery_app import celery_app
from core.db import session_scope
from core.settings import get_settings

TRAITS_OVERRIDE = "traits.json"  # in DATA_DIR: the retailer's own trait rules, if present


def traits_path() -> Path | None:
    path = get_settings().data_dir / TRAITS_OVERRIDE
    return path if path.exists() else None


@celery_app.task(name="audience.build_features")
def build_features(window_weeks: int = 26, mode: str = "auto") -> dict:
    """Build and publish customer features (incremental unless a full build is due)."""
    report = service.build_features(window_weeks=window_weeks, mode=mode,
                                    traits_path=traits_path())
    return {"build_id": report.build_id, "mode": report.mode.value,
            "customers": report.customers, "recomputed": report.recomputed,
            "lines": report.lines, "seconds": round(report.seconds, 2)}


@celery_app.task(name="audience.materialise_segment")
def materialise_segment(segment_id: int, version: int | None = None,
                        user_id: int | None = None) -> dict:
    """Freeze a segment version's members; returns the materialisation's id and size."""
    with session_scope() as db:
        segment = service.get_segment(db=db, segment_id=segment_id, organisation_id=None)
        materialisation = service.materialise(db=db, segment=segment, version=version,
                                              user_id=user_id)
        return {"materialisation_id": materialisation.id,
                "members": materialisation.members}
