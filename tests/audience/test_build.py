"""Feature builds on both databases: full and incremental give the same table, the nightly
task runs them, one build runs at a time, old files go, and pricing_ai's scores join."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import inspect, select

from audience import service, tasks
from audience.errors import BuildRunning, InvalidScores
from audience.models import BuildMode, BuildStatus, FeatureBuild
from core import migrate
from core.celery_app import celery_app
from core.db import get_engine, session_scope
from tests.audience.conftest import (
    CAT_OWNERS,
    SHOPPERS,
    add_receipts,
    add_shoppers,
    make_world,
    shopper_id,
)

AUDIENCE_TABLES = {"audience_feature_build", "audience_score_set", "audience_segment",
                   "audience_segment_version", "audience_materialisation",
                   "audience_materialised_member"}


def table_of(report) -> pd.DataFrame:
    frame = pq.read_table(report.path).to_pandas()
    frame = frame.sort_values("customer_id").reset_index(drop=True)
    for column in ("stores", "categories", "favourite_brands"):
        frame[column] = frame[column].map(sorted)
    return frame


def count(rule) -> int:
    return service.estimate(rule=rule, exact=True).count.count


def test_an_incremental_build_equals_a_full_one(any_db, data_dir):
    make_world(build=False)
    first = service.build_features(mode="full")
    assert first.mode is BuildMode.full and first.customers == SHOPPERS
    assert count({"field": "cat_owner", "op": "eq", "value": True}) == CAT_OWNERS

    # Later: five shoppers buy cat food twice more (becoming cat owners), one buys milk in
    # Kazan, and two new shoppers arrive.
    new_owners = range(200, 205)
    add_receipts(new_owners, days_ago=1)
    add_receipts(new_owners, days_ago=0.5)
    add_receipts([700], days_ago=1, sku="A-0", store_id="ST-3", paid=50_000)
    add_shoppers(first=SHOPPERS, count=2, days_ago=1)

    incremental = service.build_features()
    assert incremental.mode is BuildMode.incremental
    assert incremental.recomputed == 8 and incremental.customers == SHOPPERS + 2
    assert count({"field": "cat_owner", "op": "eq", "value": True}) == CAT_OWNERS + 5
    moved = {"all": [{"field": "stores", "op": "contains_all", "value": ["ST-1", "ST-3"]},
                     {"field": "total_spend_minor", "op": "eq", "value": 150_000}]}
    assert count(moved) == 1

    full = service.build_features(mode="full")
    pd.testing.assert_frame_equal(table_of(incremental), table_of(full))
    with session_scope() as db:
        built = db.get(FeatureBuild, incremental.build_id)
        # the whole window of the eight recomputed shoppers: 5 × 3 + 2 + 2 lines
        assert built.base_build_id == first.build_id and built.lines == 19


def test_the_nightly_task_builds_and_beat_schedules_it(sqlite_db, data_dir):
    make_world(build=False)
    entry = celery_app.conf.beat_schedule["audience-nightly-features"]
    assert entry["task"] == tasks.build_features.name == "audience.build_features"
    assert "audience.tasks" in celery_app.conf.include
    result = tasks.build_features.apply().get()
    assert result["customers"] == SHOPPERS and result["mode"] == "full"
    assert service.current_snapshot().build.id == result["build_id"]


def test_one_build_at_a_time_and_old_files_are_deleted(sqlite_db, data_dir):
    make_world(build=False)
    with session_scope() as db:
        db.add(FeatureBuild(status=BuildStatus.running, mode=BuildMode.full, window_weeks=26,
                            traits_digest="x"))
    with pytest.raises(BuildRunning):
        service.build_features()
    with session_scope() as db:
        running = db.scalars(select(FeatureBuild)).one()
        running.started_at -= service.ABANDONED_AFTER
    reports = [service.build_features(mode="full") for _ in range(4)]
    assert not reports[0].path.exists()
    assert all(report.path.exists() for report in reports[1:])
    with session_scope() as db:
        statuses = dict(db.execute(select(FeatureBuild.id, FeatureBuild.status)).all())
    assert statuses[reports[0].build_id] is BuildStatus.retired
    assert list(statuses.values()).count(BuildStatus.failed) == 1  # the abandoned one


def test_published_scores_become_fields(any_db, data_dir):
    make_world()
    scores = pd.DataFrame({"customer_id": [shopper_id(n) for n in range(SHOPPERS)],
                           "price_sensitivity": [n / SHOPPERS for n in range(SHOPPERS)],
                           "cherry_picker_score": [0.9 if n < 300 else 0.1
                                                   for n in range(SHOPPERS)]})
    with session_scope() as db:
        service.publish_scores(db=db, name="pricing_ai", scores=scores)
    fields = {field.spec.name: field for field in service.field_catalogue().fields.values()}
    assert fields["price_sensitivity"].spec.label_en == "Price sensitivity"
    assert fields["price_sensitivity"].spec.group == "scores"
    rule = {"all": [{"field": "cherry_picker_score", "op": "gte", "value": 0.5},
                    {"field": "price_sensitivity", "op": "lte", "value": 0.1}]}
    assert count(rule) == 151  # shoppers 0 … 150: lte is inclusive

    with session_scope() as db, pytest.raises(InvalidScores, match="hide a feature"):
        service.publish_scores(db=db, name="bad", scores=scores.rename(
            columns={"price_sensitivity": "region"}))
    with session_scope() as db, pytest.raises(InvalidScores, match="numeric"):
        service.publish_scores(db=db, name="bad", scores=scores.assign(
            price_sensitivity="high"))


def test_the_migration_upgrades_and_downgrades(any_db):
    def tables() -> set[str]:
        return set(inspect(get_engine()).get_table_names())

    assert tables() >= AUDIENCE_TABLES
    migrate.downgrade("0001")
    assert not AUDIENCE_TABLES & tables()
    migrate.upgrade()
    assert tables() >= AUDIENCE_TABLES


def test_the_migration_matches_the_models(any_db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from core.db import Base, import_all_models

    import_all_models()
    with get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert [d for d in differences if "audience_" in repr(d)] == []
