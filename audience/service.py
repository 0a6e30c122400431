"""Audience's services: feature builds, published scores, exact estimates under the privacy
rules, saved segments with versions, and materialised member lists.

Privacy (ARCHITECTURE.md): a viewer without `exact` (a supplier's user) gets counts only —
never a shopper id — and a count below the retailer's minimum audience size shows as
"< 100" while larger ones are rounded to the nearest 10; breakdowns and the share of the
base follow the same rule. Retailer staff get exact counts.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Select, event, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from audience import features
from audience.catalogue import (
    BASE_FIELD_NAMES,
    CATEGORY_SHARE_PREFIX,
    Catalogue,
    FieldSpec,
    score_field,
)
from audience.errors import (
    AudienceTooSmall,
    BuildRunning,
    InvalidScores,
    MaterialisationNotFound,
    NoFeatures,
    SegmentArchived,
    SegmentNotEditable,
    SegmentNotFound,
    SegmentVersionNotFound,
)
from audience.models import (
    BuildMode,
    BuildStatus,
    FeatureBuild,
    Materialisation,
    MaterialisedMember,
    ScoreSet,
    Segment,
    SegmentStatus,
    SegmentVersion,
)
from audience.rules import Node, parse_rule
from audience.snapshot import (
    BuildFile,
    Estimate,
    ScoreFile,
    Snapshot,
    SnapshotHolder,
    load_snapshot,
)
from core.db import get_engine, get_owned, new_session, owned_by, session_scope, utcnow
from core.settings import get_settings
from retail.models import Store

log = logging.getLogger(__name__)

KEEP_BUILD_FILES = 3
FULL_BUILD_EVERY = timedelta(days=7)
ABANDONED_AFTER = timedelta(hours=6)


def features_dir() -> Path:
    return get_settings().data_dir / "features"


# --- feature builds ------------------------------------------------------------------------

@dataclass(frozen=True)
class BuildReport:
    build_id: int
    mode: BuildMode
    customers: int
    recomputed: int
    lines: int
    extract_seconds: float
    compute_seconds: float
    seconds: float
    path: Path


def latest_build(*, db: Session) -> FeatureBuild | None:
    return db.scalars(select(FeatureBuild).where(FeatureBuild.status == BuildStatus.published)
                      .order_by(FeatureBuild.id.desc()).limit(1)).first()


def select_builds() -> Select[tuple[FeatureBuild]]:
    return select(FeatureBuild)


def _start_build(*, window_weeks: int, traits_digest: str) -> tuple[int, FeatureBuild | None]:
    with session_scope() as db:
        running = db.scalars(select(FeatureBuild)
                             .where(FeatureBuild.status == BuildStatus.running)).first()
        if running is not None:
            if utcnow() - running.started_at < ABANDONED_AFTER:
                raise BuildRunning(f"Feature build {running.id} is running since "
                                   f"{running.started_at:%Y-%m-%d %H:%M} UTC")
            running.status = BuildStatus.failed
            running.error = "abandoned: still running after " + str(ABANDONED_AFTER)
            db.flush()
        previous = latest_build(db=db)
        build = FeatureBuild(status=BuildStatus.running, mode=BuildMode.full,
                             window_weeks=window_weeks, traits_digest=traits_digest)
        db.add(build)
        db.flush()
        if previous is not None:
            db.expunge(previous)
        return build.id, previous


def _can_increment(previous: FeatureBuild | None, *, window_weeks: int, traits_digest: str,
                   as_of: datetime) -> bool:
    return (previous is not None and previous.window_weeks == window_weeks
            and previous.traits_digest == traits_digest and previous.as_of is not None
            and previous.full_as_of is not None and as_of >= previous.as_of
            and as_of - previous.full_as_of < FULL_BUILD_EVERY
            and previous.path is not None and Path(previous.path).exists())


def build_features(*, window_weeks: int = features.DEFAULT_WINDOW_WEEKS, mode: str = "auto",
                   traits_path: Path | None = None, as_of: datetime | None = None,
                   echo=None) -> BuildReport:
    """Compute the feature table and publish it; API workers pick it up within seconds.

    `mode`: "full" recomputes every shopper; "incremental" only shoppers with receipts
    after the previous build (the others are carried over, their recency moved on);
    "auto" is incremental unless the window or the trait rules changed, or the last full
    build is older than a week (carried-over rows' windows would drift too far).
    `as_of` (the end of the window) defaults to the newest receipt line.
    """
    if mode not in ("auto", "full", "incremental"):
        raise ValueError(f"mode must be auto, full or incremental, not {mode!r}")
    say = echo or (lambda _message: None)
    started = time.perf_counter()
    traits = features.load_trait_rules(traits_path)
    build_id, previous = _start_build(window_weeks=window_weeks, traits_digest=traits.digest)
    try:
        report = _build(build_id, previous, window_weeks=window_weeks, mode=mode,
                        traits=traits, as_of=as_of, started=started, say=say)
    except BaseException as exc:
        with session_scope() as db:
            db.execute(update(FeatureBuild).where(FeatureBuild.id == build_id).values(
                status=BuildStatus.failed, error=f"{type(exc).__name__}: {exc}"[:2000],
                seconds=time.perf_counter() - started))
        raise
    _retire_old_builds()
    return report


@dataclass
class _Inputs:
    """What a build reads: the receipt lines of the shoppers it computes, and the rest."""

    lines: pa.Table
    reference: features.Reference       # every shopper, product and store
    recompute: features.Reference       # the shoppers to compute rows for
    previous_table: pa.Table | None     # the rows an incremental build carries over
    as_of: datetime
    weeks: float
    seconds: float


def _read_inputs(previous: FeatureBuild | None, *, window_weeks: int, incremental_wanted: bool,
                 traits: features.TraitRules, as_of: datetime | None) -> _Inputs:
    started = time.perf_counter()
    with get_engine().connect() as connection:
        oldest, newest = features.receipts_span(connection)
        as_of = as_of or newest or utcnow()
        weeks = features.weeks_observed(as_of=as_of, window_weeks=window_weeks,
                                        first_receipt=oldest)
        reference = features.read_reference(connection)
        recompute, previous_table, changed = reference, None, None
        if incremental_wanted and _can_increment(previous, window_weeks=window_weeks,
                                                 traits_digest=traits.digest, as_of=as_of):
            previous_table = pq.read_table(previous.path)
            # Shoppers with new receipts, and shoppers the previous build did not know.
            everyone = reference.customers.column("customer_id")
            unknown = everyone.filter(pc.invert(pc.is_in(
                everyone, value_set=previous_table.column("customer_id"))))
            changed = pc.unique(pa.concat_arrays([
                pa.array(features.changed_customers(connection, after=previous.as_of),
                         type=pa.string()),
                unknown.combine_chunks()]))
            recompute = features.Reference(
                products=reference.products, stores=reference.stores,
                customers=reference.customers.filter(pc.is_in(everyone, value_set=changed)))
        lines = features.read_receipt_lines(
            connection, since=features.window_start(as_of, window_weeks), until=as_of,
            customer_ids=None if changed is None else changed.to_pylist())
    return _Inputs(lines=lines, reference=reference, recompute=recompute,
                   previous_table=previous_table, as_of=as_of, weeks=weeks,
                   seconds=time.perf_counter() - started)


def _build(build_id: int, previous: FeatureBuild | None, *, window_weeks: int, mode: str,
           traits: features.TraitRules, as_of: datetime | None, started: float,
           say) -> BuildReport:
    inputs = _read_inputs(previous, window_weeks=window_weeks, incremental_wanted=mode != "full",
                          traits=traits, as_of=as_of)
    incremental = inputs.previous_table is not None
    if mode == "incremental" and not incremental:
        say("no compatible previous build: building in full")
    say(f"read {inputs.lines.num_rows:,} receipt lines in {inputs.seconds:.1f} s")

    compute_started = time.perf_counter()
    computed = features.compute_features(
        inputs.lines, inputs.recompute, as_of=inputs.as_of, window_weeks=window_weeks,
        traits=traits, ordered=True, weeks_observed=inputs.weeks)
    if incremental and set(computed.table.schema.names) != set(
            inputs.previous_table.schema.names):
        say("the categories changed since the previous build: building in full")
        return _build(build_id, previous, window_weeks=window_weeks, mode="full",
                      traits=traits, as_of=inputs.as_of, started=started, say=say)
    if incremental:
        table = features.merge_incremental(inputs.previous_table, computed.table,
                                           as_of=inputs.as_of)
        table = features.refresh_profiles(table, inputs.reference, as_of=inputs.as_of)
        build_mode, full_as_of = BuildMode.incremental, previous.full_as_of
        dynamic = [FieldSpec.from_json(spec) for spec in previous.fields]
    else:
        table, build_mode, full_as_of = computed.table, BuildMode.full, inputs.as_of
        dynamic = computed.fields
    compute_seconds = time.perf_counter() - compute_started
    say(f"computed features of {computed.table.num_rows:,} shoppers in "
        f"{compute_seconds:.1f} s")

    folder = features_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"build-{build_id:06d}.parquet"
    partial = path.with_suffix(".parquet.partial")
    pq.write_table(table, partial, compression="zstd")
    os.replace(partial, path)  # readers never see half a file
    seconds = time.perf_counter() - started
    with session_scope() as db:
        build = db.get(FeatureBuild, build_id)
        build.status = BuildStatus.published
        build.mode = build_mode
        build.as_of = inputs.as_of
        build.full_as_of = full_as_of
        build.weeks_observed = inputs.weeks
        build.base_build_id = previous.id if incremental else None
        build.customers = table.num_rows
        build.recomputed = computed.table.num_rows
        build.lines = inputs.lines.num_rows
        build.path = str(path)
        build.fields = [spec.to_json() for spec in dynamic]
        build.extract_seconds = inputs.seconds
        build.compute_seconds = compute_seconds
        build.seconds = seconds
        build.published_at = utcnow()
    forget_snapshot()
    return BuildReport(build_id=build_id, mode=build_mode, customers=table.num_rows,
                       recomputed=computed.table.num_rows, lines=inputs.lines.num_rows,
                       extract_seconds=inputs.seconds, compute_seconds=compute_seconds,
                       seconds=seconds, path=path)


def _retire_old_builds() -> None:
    """Keep the newest few files (a worker may still be loading one); delete the rest."""
    with session_scope() as db:
        published = db.scalars(select(FeatureBuild)
                               .where(FeatureBuild.status == BuildStatus.published)
                               .order_by(FeatureBuild.id.desc())).all()
        for build in published[KEEP_BUILD_FILES:]:
            if build.path:
                Path(build.path).unlink(missing_ok=True)
            build.status = BuildStatus.retired


# --- scores published by other domains -----------------------------------------------------

_SCORE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def publish_scores(*, db: Session, name: str, scores: pd.DataFrame,
                   fields: Mapping[str, Mapping[str, Any]] | None = None) -> ScoreSet:
    """Store per-shopper scores (a `customer_id` column and numeric score columns) as
    fields of the feature table. The newest set of each `name` counts; its columns appear
    in the field catalogue, labelled from `fields[column]` (label_ru, label_en,
    description_ru, description_en, unit, bounds) or from the catalogue's known scores.
    """
    if not _SCORE_NAME.match(name):
        raise InvalidScores(f"Score set name {name!r} must be lower_snake_case")
    if "customer_id" not in scores.columns:
        raise InvalidScores("Scores need a customer_id column")
    if scores["customer_id"].duplicated().any():
        raise InvalidScores("Scores have more than one row for some customer_id")
    columns = [column for column in scores.columns if column != "customer_id"]
    if not columns:
        raise InvalidScores("Scores need at least one score column")
    specs = []
    for column in columns:
        if not _SCORE_NAME.match(str(column)):
            raise InvalidScores(f"Score column {column!r} must be lower_snake_case")
        if column in BASE_FIELD_NAMES or str(column).startswith(CATEGORY_SHARE_PREFIX):
            raise InvalidScores(f"Score column {column!r} would hide a feature of that name")
        if not pd.api.types.is_numeric_dtype(scores[column]) or \
                pd.api.types.is_bool_dtype(scores[column]):
            raise InvalidScores(f"Score column {column!r} must be numeric")
        specs.append(score_field(str(column), **dict((fields or {}).get(column, {}))))
    build = latest_build(db=db)
    clash = {spec["name"] for spec in build.fields} & set(columns) if build else set()
    if clash:
        raise InvalidScores(f"Score columns {sorted(clash)} would hide features")
    other_sets = db.scalars(select(ScoreSet).where(ScoreSet.name != name)).all()
    for other in other_sets:
        overlap = {spec["name"] for spec in other.fields} & set(columns)
        if overlap:
            raise InvalidScores(f"Score columns {sorted(overlap)} are already published by "
                                f"the score set {other.name!r}")
    folder = features_dir() / "scores"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{utcnow():%Y%m%dT%H%M%S%f}.parquet"
    frame = scores[["customer_id", *columns]].copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    for column in columns:
        frame[column] = frame[column].astype("float64")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   compression="zstd")
    score_set = ScoreSet(name=name, path=str(path), rows=len(frame),
                         fields=[spec.to_json() for spec in specs])
    db.add(score_set)
    db.flush()
    _forget_after_commit(db)
    return score_set


# --- the snapshot of this process ----------------------------------------------------------

def _latest_key() -> Hashable | None:
    with new_session() as db:
        build_id = db.scalar(select(func.max(FeatureBuild.id))
                             .where(FeatureBuild.status == BuildStatus.published))
        if build_id is None:
            return None
        scores = db.scalars(select(func.max(ScoreSet.id)).group_by(ScoreSet.name)).all()
    return (build_id, tuple(sorted(scores)))


def _load(key: Hashable) -> Snapshot:
    build_id, score_ids = key
    with new_session() as db:
        build = db.get(FeatureBuild, build_id)
        score_sets = [db.get(ScoreSet, score_id) for score_id in score_ids]
        store_names = dict(db.execute(select(Store.store_id, Store.name)).all())
        build_file = BuildFile(id=build.id, path=build.path, as_of=build.as_of,
                               window_weeks=build.window_weeks,
                               fields=[FieldSpec.from_json(spec) for spec in build.fields])
        score_files = [ScoreFile(id=s.id, name=s.name, path=s.path,
                                 fields=[FieldSpec.from_json(spec) for spec in s.fields])
                       for s in score_sets if s is not None and Path(s.path).exists()]
    snapshot = load_snapshot(build_file, score_files, store_names=store_names)
    # The file's tables are gone now; hand their memory back rather than keep it pooled.
    pa.default_memory_pool().release_unused()
    log.info("audience snapshot of build %s loaded: %s shoppers, %.0f MB, %.1f s",
             build_id, snapshot.n, snapshot.nbytes() / 2**20, snapshot.loaded_seconds)
    return snapshot


_holder = SnapshotHolder(latest=_latest_key, load=_load)


def snapshot_holder() -> SnapshotHolder:
    return _holder


def current_snapshot() -> Snapshot:
    snapshot = _holder.get()
    if snapshot is None:
        raise NoFeatures("No customer features yet: build them first "
                         "(`vitrina features build`)")
    return snapshot


def preload_snapshot() -> None:
    """Load the newest snapshot now (an API worker starting), so that the first estimate
    does not wait seconds for it. Without a database to read yet, the first estimate tries
    again."""
    try:
        _holder.get()
    except (SQLAlchemyError, OSError) as exc:
        log.warning("audience snapshot not preloaded: %s", exc)


def forget_snapshot() -> None:
    """Drop this process's snapshot; the next request loads the newest publication."""
    _holder.forget()


def _forget_after_commit(db: Session) -> None:
    event.listen(db, "after_commit", lambda _session: forget_snapshot(), once=True)


def field_catalogue() -> Catalogue:
    """The fields a rule may name: from the newest build when there is one."""
    snapshot = _holder.get()
    return snapshot.catalogue if snapshot is not None else Catalogue.static()


def check_rule(rule: Any, *, strict_values: bool = True) -> Node:
    return parse_rule(rule, field_catalogue(), strict_values=strict_values)


# --- counts under the privacy rules --------------------------------------------------------

@dataclass(frozen=True)
class ShownCount:
    count: int | None   # None when it may not be shown
    label: str
    exact: bool
    below_minimum: bool


def shown_count(count: int, *, exact: bool, minimum: int | None = None) -> ShownCount:
    minimum = get_settings().min_audience_size if minimum is None else minimum
    below = count < minimum
    if exact:
        return ShownCount(count=count, label=str(count), exact=True, below_minimum=below)
    if below:
        return ShownCount(count=None, label=f"< {minimum}", exact=False, below_minimum=True)
    rounded = (count + 5) // 10 * 10
    return ShownCount(count=rounded, label=str(rounded), exact=False, below_minimum=False)


@dataclass(frozen=True)
class ShownBucket:
    value: Any
    label: str
    count: ShownCount


@dataclass(frozen=True)
class AudienceEstimate:
    count: ShownCount
    base: ShownCount
    share_of_base: float | None
    breakdown: dict[str, list[ShownBucket]]
    feature_build_id: int
    as_of: datetime
    min_audience_size: int


def _shown(estimate: Estimate, snapshot: Snapshot, *, exact: bool) -> AudienceEstimate:
    minimum = get_settings().min_audience_size
    count = shown_count(estimate.count, exact=exact, minimum=minimum)
    # The base is never small, and rounding it keeps a share from revealing a count.
    base = shown_count(estimate.base, exact=exact, minimum=0)
    share = None
    if count.count is not None and base.count:
        share = round(count.count / base.count, 6 if exact else 3)
    breakdown = {name: [ShownBucket(bucket.value, bucket.label,
                                    shown_count(bucket.count, exact=exact, minimum=minimum))
                        for bucket in buckets]
                 for name, buckets in estimate.breakdown.items()}
    return AudienceEstimate(count=count, base=base, share_of_base=share, breakdown=breakdown,
                            feature_build_id=snapshot.build.id, as_of=snapshot.build.as_of,
                            min_audience_size=minimum)


def estimate(*, rule: Any, exact: bool) -> AudienceEstimate:
    """How many shoppers match `rule`, with a breakdown by region, home store and app
    use, shown as the privacy rules allow (`exact` for retailer staff)."""
    snapshot = current_snapshot()
    node = parse_rule(rule, snapshot.catalogue)
    return _shown(snapshot.estimate(node), snapshot, exact=exact)


def exact_count(*, rule: Any) -> int:
    """The exact number of matching shoppers, for other domains (never for a supplier)."""
    snapshot = current_snapshot()
    return snapshot.count(parse_rule(rule, snapshot.catalogue, strict_values=False))


# --- saved segments ------------------------------------------------------------------------

def select_segments(*, organisation_id: int | None) -> Select[tuple[Segment]]:
    """Segments visible to a viewer: one organisation's, or (None) every organisation's."""
    return owned_by(select(Segment), Segment, organisation_id)


def get_segment(*, db: Session, segment_id: int, organisation_id: int | None) -> Segment:
    """The segment, or SegmentNotFound also when it belongs to another organisation than
    `organisation_id` (None sees all), so other suppliers' ids never leak."""
    segment = get_owned(db, Segment, segment_id, organisation_id=organisation_id)
    if segment is None:
        raise SegmentNotFound(f"No segment {segment_id}")
    return segment


def current_version(*, db: Session, segment: Segment) -> SegmentVersion:
    return get_version(db=db, segment=segment, version=segment.current_version)


def get_version(*, db: Session, segment: Segment, version: int) -> SegmentVersion:
    found = db.scalars(select(SegmentVersion).where(SegmentVersion.segment_id == segment.id,
                                                    SegmentVersion.version == version)).first()
    if found is None:
        raise SegmentVersionNotFound(f"Segment {segment.id} has no version {version}")
    return found


def select_versions(*, segment_id: int) -> Select[tuple[SegmentVersion]]:
    return select(SegmentVersion).where(SegmentVersion.segment_id == segment_id)


def create_segment(*, db: Session, organisation_id: int, name: str, rule: Any,
                   description: str = "", user_id: int | None = None) -> Segment:
    check_rule(rule)
    segment = Segment(organisation_id=organisation_id, name=name, description=description,
                      current_version=1, created_by_id=user_id)
    db.add(segment)
    db.flush()
    db.add(SegmentVersion(segment_id=segment.id, version=1, rule=rule, created_by_id=user_id))
    db.flush()
    return segment


def _check_editable(segment: Segment, organisation_id: int) -> None:
    if segment.organisation_id != organisation_id:
        raise SegmentNotEditable("Only the organisation that owns a segment may change it")
    if segment.status is SegmentStatus.archived:
        raise SegmentArchived(f"Segment {segment.id} is archived")


def update_segment(*, db: Session, segment: Segment, organisation_id: int,
                   name: str | None = None, description: str | None = None,
                   rule: Any = None, user_id: int | None = None) -> Segment:
    """Rename, redescribe, or change the rule; a new rule is a new version, and earlier
    versions stay as they were (campaigns keep the one they launched with)."""
    _check_editable(segment, organisation_id)
    if name is not None:
        segment.name = name
    if description is not None:
        segment.description = description
    if rule is not None:
        check_rule(rule)
        if rule != current_version(db=db, segment=segment).rule:
            segment.current_version += 1
            db.add(SegmentVersion(segment_id=segment.id, version=segment.current_version,
                                  rule=rule, created_by_id=user_id))
    segment.updated_at = utcnow()
    db.flush()
    return segment


def archive_segment(*, db: Session, segment: Segment, organisation_id: int) -> Segment:
    if segment.organisation_id != organisation_id:
        raise SegmentNotEditable("Only the organisation that owns a segment may archive it")
    if segment.status is not SegmentStatus.archived:
        segment.status = SegmentStatus.archived
        segment.archived_at = utcnow()
        db.flush()
    return segment


def segment_size(*, db: Session, segment: Segment, exact: bool) -> ShownCount | None:
    """The current version's size now, as the viewer may see it (None without features)."""
    snapshot = _holder.get()
    if snapshot is None:
        return None
    version = current_version(db=db, segment=segment)
    node = parse_rule(version.rule, snapshot.catalogue, strict_values=False)
    return shown_count(snapshot.count(node), exact=exact)


def materialise(*, db: Session, segment: Segment, version: int | None = None,
                user_id: int | None = None) -> Materialisation:
    """Freeze the members of a segment version (the current one by default) against the
    newest feature build — what a campaign launches with. Refused below the minimum
    audience size."""
    if segment.status is SegmentStatus.archived:
        raise SegmentArchived(f"Segment {segment.id} is archived")
    chosen = get_version(db=db, segment=segment, version=version or segment.current_version)
    snapshot = current_snapshot()
    node = parse_rule(chosen.rule, snapshot.catalogue, strict_values=False)
    members = snapshot.members(node)
    minimum = get_settings().min_audience_size
    if len(members) < minimum:
        raise AudienceTooSmall(
            f"This segment has fewer than {minimum} shoppers, the retailer's minimum "
            "audience size, so it cannot be used for a campaign",
            errors={"rule": f"fewer than {minimum} shoppers"})
    materialisation = Materialisation(segment_version_id=chosen.id,
                                      feature_build_id=snapshot.build.id,
                                      members=len(members), created_by_id=user_id)
    db.add(materialisation)
    db.flush()
    _insert_members(db, materialisation.id, members)
    return materialisation


def _insert_members(db: Session, materialisation_id: int, members: list[str]) -> None:
    if db.bind.dialect.name == "postgresql":
        # COPY: a million members in seconds rather than minutes.
        raw = db.connection().connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(
                "COPY audience_materialised_member (materialisation_id, customer_id) "
                "FROM STDIN") as copy:
            for customer_id in members:
                copy.write_row((materialisation_id, customer_id))
        return
    for start in range(0, len(members), 50_000):
        db.execute(insert(MaterialisedMember), [
            {"materialisation_id": materialisation_id, "customer_id": customer_id}
            for customer_id in members[start:start + 50_000]])


def get_materialisation(*, db: Session, materialisation_id: int,
                        organisation_id: int | None) -> Materialisation:
    found = db.get(Materialisation, materialisation_id)
    if found is None or (organisation_id is not None
                         and found.version.segment.organisation_id != organisation_id):
        raise MaterialisationNotFound(f"No materialisation {materialisation_id}")
    return found


def member_ids(*, db: Session, materialisation_id: int) -> list[str]:
    """The frozen members, for the retailer's own services (offers); never for a supplier."""
    return list(db.scalars(select(MaterialisedMember.customer_id)
                           .where(MaterialisedMember.materialisation_id == materialisation_id)
                           .order_by(MaterialisedMember.customer_id)))
