"""HTTP routes of audiences: the field catalogue, live estimates, saved segments, their
versions and materialisation, and (for retailer staff) the feature builds.

Supplier managers work with their own organisation's segments (another's answer 404) and
see counts only, rounded or "< 100" (`audience.service`); retail marketers and admins see
every segment and exact counts, and change only their own organisation's segments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Body, Depends, FastAPI, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from audience import service as audience
from audience.models import FeatureBuild, Materialisation, Segment, SegmentVersion
from audience.schemas import (
    EstimateRead,
    EstimateRequest,
    FeatureBuildRead,
    FieldRead,
    MaterialisationRead,
    MaterialiseRequest,
    SegmentCreate,
    SegmentRead,
    SegmentUpdate,
    SegmentVersionRead,
    ShownCountRead,
)
from marketplace_api.deps import (
    CurrentScope,
    CurrentUser,
    DbSession,
    PathId,
    require_caller_roles,
    require_retailer_staff,
)
from marketplace_api.identity.models import Role
from marketplace_api.identity.service import Caller
from marketplace_api.listing import ListQuery, ListSpec, contains, equals, fetch_page

AUDIENCE_ROLES = (Role.supplier_manager, Role.retail_marketer, Role.admin)

SEGMENTS = ListSpec(
    resource="segments", key=(Segment.id,),
    sortable={"id": Segment.id, "name": Segment.name, "status": Segment.status,
              "created_at": Segment.created_at, "updated_at": Segment.updated_at},
    filters={"q": contains(Segment.name, Segment.description), "id": equals(Segment.id),
             "status": equals(Segment.status),
             "organisation_id": equals(Segment.organisation_id)},
)
VERSIONS = ListSpec(
    resource="segment-versions", key=(SegmentVersion.version,),
    sortable={"version": SegmentVersion.version, "created_at": SegmentVersion.created_at},
)
BUILDS = ListSpec(
    resource="feature-builds", key=(FeatureBuild.id.desc(),),
    sortable={"id": FeatureBuild.id, "started_at": FeatureBuild.started_at},
    filters={"status": equals(FeatureBuild.status)},
)

# One callable at the router and in routes that need the caller: FastAPI then runs it once.
# The role check takes the caller this worker remembers (`deps.CurrentCaller`), so the live
# estimate needs neither a session nor a thread for it; routes that change data also take
# `CurrentUser`, read from the database.
audience_caller = require_caller_roles(*AUDIENCE_ROLES)
AudienceCaller = Annotated[Caller, Depends(audience_caller)]


@asynccontextmanager
async def _preload_snapshot(_app: FastAPI) -> AsyncIterator[None]:
    # Each API worker loads the snapshot before it takes requests, not on the first estimate.
    await run_in_threadpool(audience.preload_snapshot)
    yield


router = APIRouter(tags=["audience"], dependencies=[Depends(audience_caller)],
                   lifespan=_preload_snapshot)


def get_segment_or_404(db: DbSession, scope: CurrentScope, segment_id: PathId) -> Segment:
    return audience.get_segment(db=db, segment_id=segment_id,
                                organisation_id=scope.organisation_id)


ScopedSegment = Annotated[Segment, Depends(get_segment_or_404)]


def _segment_read(db: Session, segment: Segment, *, exact: bool) -> SegmentRead:
    version = audience.current_version(db=db, segment=segment)
    size = audience.segment_size(db=db, segment=segment, exact=exact)
    return SegmentRead(
        id=segment.id, organisation_id=segment.organisation_id, name=segment.name,
        description=segment.description, status=segment.status,
        version=segment.current_version, rule=version.rule,
        size=ShownCountRead.model_validate(size) if size else None,
        created_at=segment.created_at, updated_at=segment.updated_at,
        archived_at=segment.archived_at)


def _materialisation_read(materialisation: Materialisation, *, exact: bool
                          ) -> MaterialisationRead:
    return MaterialisationRead(
        id=materialisation.id, segment_id=materialisation.version.segment_id,
        segment_version_id=materialisation.segment_version_id,
        version=materialisation.version.version,
        feature_build_id=materialisation.feature_build_id,
        members=ShownCountRead.model_validate(
            audience.shown_count(materialisation.members, exact=exact)),
        created_at=materialisation.created_at)


@router.get("/audience/fields", response_model=list[FieldRead])
def list_fields() -> list[dict]:
    """The fields a rule may name, with their operators, values or range, unit and labels
    in Russian and English; the rule builder is made from this."""
    return audience.field_catalogue().to_json()


@router.post("/segments/estimate", response_model=EstimateRead)
def estimate(caller: AudienceCaller, body: EstimateRequest) -> Response:
    """How many shoppers match a rule now, with a breakdown by region, home store and app
    use; fast enough to call on every keystroke."""
    # Called on every keystroke: no session, and the answer is validated and encoded once
    # here (returned as a model, FastAPI would validate it again in one more thread hop).
    result = audience.estimate(rule=body.rule, exact=caller.scope.sees_everything)
    return Response(EstimateRead.model_validate(result).model_dump_json(),
                    media_type="application/json")


@router.get("/segments", response_model=list[SegmentRead])
def list_segments(db: DbSession, scope: CurrentScope, params: ListQuery,
                  response: Response) -> list[SegmentRead]:
    segments = fetch_page(
        db=db, statement=audience.select_segments(organisation_id=scope.organisation_id),
        params=params, spec=SEGMENTS, response=response)
    return [_segment_read(db, segment, exact=scope.sees_everything) for segment in segments]


@router.post("/segments", response_model=SegmentRead, status_code=status.HTTP_201_CREATED)
def create_segment(db: DbSession, user: CurrentUser, scope: CurrentScope,
                   body: SegmentCreate) -> SegmentRead:
    segment = audience.create_segment(db=db, organisation_id=user.organisation_id,
                                      name=body.name, description=body.description,
                                      rule=body.rule, user_id=user.id)
    return _segment_read(db, segment, exact=scope.sees_everything)


@router.get("/segments/{segment_id}", response_model=SegmentRead)
def get_segment(db: DbSession, scope: CurrentScope, segment: ScopedSegment) -> SegmentRead:
    return _segment_read(db, segment, exact=scope.sees_everything)


@router.patch("/segments/{segment_id}", response_model=SegmentRead)
@router.put("/segments/{segment_id}", response_model=SegmentRead,
            operation_id="replace_segment")  # react-admin's simple REST provider sends PUT
def update_segment(db: DbSession, user: CurrentUser, scope: CurrentScope,
                   segment: ScopedSegment, body: SegmentUpdate) -> SegmentRead:
    """Rename or change the rule; a changed rule becomes a new version."""
    audience.update_segment(db=db, segment=segment, organisation_id=user.organisation_id,
                            name=body.name, description=body.description, rule=body.rule,
                            user_id=user.id)
    return _segment_read(db, segment, exact=scope.sees_everything)


@router.post("/segments/{segment_id}/archive", response_model=SegmentRead)
def archive_segment(db: DbSession, user: CurrentUser, scope: CurrentScope,
                    segment: ScopedSegment) -> SegmentRead:
    audience.archive_segment(db=db, segment=segment, organisation_id=user.organisation_id)
    return _segment_read(db, segment, exact=scope.sees_everything)


@router.delete("/segments/{segment_id}", response_model=SegmentRead)
def delete_segment(db: DbSession, user: CurrentUser, scope: CurrentScope,
                   segment: ScopedSegment) -> SegmentRead:
    """Archives the segment (campaigns may still point at its versions)."""
    return archive_segment(db, user, scope, segment)


@router.get("/segments/{segment_id}/versions", response_model=list[SegmentVersionRead])
def list_versions(db: DbSession, segment: ScopedSegment, params: ListQuery,
                  response: Response) -> list[SegmentVersion]:
    return fetch_page(db=db, statement=audience.select_versions(segment_id=segment.id),
                      params=params, spec=VERSIONS, response=response)


@router.post("/segments/{segment_id}/materialise", response_model=MaterialisationRead,
             status_code=status.HTTP_201_CREATED)
def materialise(db: DbSession, user: CurrentUser, scope: CurrentScope, segment: ScopedSegment,
                body: Annotated[MaterialiseRequest | None, Body()] = None,
                ) -> MaterialisationRead:
    """Freeze the members of a version (the current one by default) for a campaign. The
    answer is their number, never who they are; below the minimum size it is a 422."""
    materialisation = audience.materialise(db=db, segment=segment,
                                           version=body.version if body else None,
                                           user_id=user.id)
    return _materialisation_read(materialisation, exact=scope.sees_everything)


@router.get("/audience/builds", response_model=list[FeatureBuildRead],
            dependencies=[Depends(require_retailer_staff)])
def list_builds(db: DbSession, params: ListQuery, response: Response) -> list[FeatureBuild]:
    return fetch_page(db=db, statement=audience.select_builds(), params=params, spec=BUILDS,
                      response=response)
