"""HTTP routes of campaigns: create, list, read, revise, the approval lifecycle (submit,
approve, reject, launch, pause, resume, stop), the forecast of a saved campaign, and
campaigns from a CSV or XLSX file with its template.

A supplier's user sees only its organisation's campaigns (another's answer 404); retailer
staff see all. A supplier manager creates campaigns for its own organisation; a retail
marketer or admin creates retailer-funded ones (paid from the retailer's own balance).
Only the owner organisation's managers revise, submit and launch; only a retail marketer
or admin approves or rejects. Launch and stop move money and need an `Idempotency-Key`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, File, Query, Response, UploadFile, status
from sqlalchemy.orm import object_session

from core.errors import Invalid
from marketplace_api.campaigns import errors, upload
from marketplace_api.campaigns import service as campaigns
from marketplace_api.campaigns.models import Campaign
from marketplace_api.campaigns.schemas import (
    CampaignCreate,
    CampaignRead,
    CampaignUpdate,
    ReasonRequest,
    RejectRequest,
    UploadReport,
)
from marketplace_api.deps import (
    CurrentScope,
    CurrentUser,
    DbSession,
    IdempotencyKey,
    PathId,
    get_current_user,
    require_roles,
)
from marketplace_api.identity.models import Role
from marketplace_api.listing import ListQuery, ListSpec, contains, equals, fetch_page
from pricing_ai.schemas import ForecastRead

MANAGER_ROLES = (Role.supplier_manager, Role.retail_marketer, Role.admin)
APPROVER_ROLES = (Role.retail_marketer, Role.admin)

CAMPAIGNS = ListSpec(
    resource="campaigns", key=(Campaign.id,),
    sortable={"id": Campaign.id, "name": Campaign.name, "status": Campaign.status,
              "starts_at": Campaign.starts_at, "ends_at": Campaign.ends_at,
              "budget_minor": Campaign.budget_minor, "created_at": Campaign.created_at,
              "updated_at": Campaign.updated_at},
    filters={"q": contains(Campaign.name), "id": equals(Campaign.id),
             "status": equals(Campaign.status),
             "organisation_id": equals(Campaign.organisation_id),
             "segment_id": equals(Campaign.segment_id),
             "depth_mode": equals(Campaign.depth_mode)},
)

router = APIRouter(tags=["campaigns"], dependencies=[Depends(get_current_user)])


def get_campaign_or_404(db: DbSession, scope: CurrentScope, campaign_id: PathId) -> Campaign:
    return campaigns.get_campaign(db=db, campaign_id=campaign_id,
                                  organisation_id=scope.organisation_id)


ScopedCampaign = Annotated[Campaign, Depends(get_campaign_or_404)]


def owned_campaign(user: CurrentUser, campaign: ScopedCampaign) -> Campaign:
    """The campaign, if the caller manages its owner organisation (else 403)."""
    if user.role not in MANAGER_ROLES or user.organisation_id != campaign.organisation_id:
        raise errors.NotOwner("Only the managers of the organisation that owns this campaign "
                              "may change, submit or launch it")
    return campaign


def steerable_campaign(user: CurrentUser, campaign: ScopedCampaign) -> Campaign:
    """The campaign, if the caller manages it or is a retail marketer or admin (else 403):
    the retailer may pause or stop any campaign."""
    if user.role in APPROVER_ROLES:
        return campaign
    return owned_campaign(user, campaign)


OwnedCampaign = Annotated[Campaign, Depends(owned_campaign)]
SteerableCampaign = Annotated[Campaign, Depends(steerable_campaign)]
_managers = Depends(require_roles(*MANAGER_ROLES))
_approvers = Depends(require_roles(*APPROVER_ROLES))
_loaded = Depends(get_campaign_or_404)


def _read(campaign: Campaign) -> CampaignRead:
    read = CampaignRead.model_validate(campaign)
    db = object_session(campaign)
    actors = campaigns.timeline_actors(db=db, campaign=campaign) if db is not None else {}
    for step in read.timeline:
        step.actor = actors.get(step.actor_user_id) if step.actor_user_id is not None else None
    return read


@router.get("/campaigns", response_model=list[CampaignRead])
def list_campaigns(db: DbSession, scope: CurrentScope, params: ListQuery,
                   response: Response) -> list[Campaign]:
    return fetch_page(db=db, statement=campaigns.select_campaigns(
        organisation_id=scope.organisation_id), params=params, spec=CAMPAIGNS,
        response=response)


@router.post("/campaigns", response_model=CampaignRead, status_code=status.HTTP_201_CREATED,
             dependencies=[_managers])
def create_campaign(db: DbSession, user: CurrentUser, body: CampaignCreate) -> CampaignRead:
    """A draft campaign of the caller's organisation: a supplier's on its own products, or
    (retail marketer, admin) a retailer-funded one on any products."""
    return _read(campaigns.create_campaign(db=db, organisation=user.organisation, data=body,
                                           user_id=user.id))


# The file routes come before /campaigns/{campaign_id} so that "upload" is never an id.
@router.get("/campaigns/upload/template", response_class=Response, dependencies=[_managers],
            responses={200: {"content": {"text/csv": {}, upload.XLSX_TYPE: {}}}})
def upload_template(format: Annotated[Literal["csv", "xlsx"], Query()] = "csv") -> Response:
    """The campaign file's template: one header row, each header in Russian and English
    ("Название / Name"); the XLSX has a second sheet explaining every column."""
    content, media_type = upload.template(format)
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="campaigns-template.{format}"'})


@router.post("/campaigns/upload", response_model=UploadReport, dependencies=[_managers])
def upload_campaigns(db: DbSession, user: CurrentUser,
                     file: Annotated[UploadFile, File(description="CSV or XLSX")],
                     dry_run: Annotated[bool, Query()] = True) -> UploadReport:
    """Campaigns from a spreadsheet, one row per campaign. A dry run reports every problem
    by row and column and writes nothing; the real run creates the valid rows as drafts in
    one transaction and reports the rest. The same file again gives the same answer and
    creates nothing more."""
    content = file.file.read(upload.MAX_BYTES + 1)
    if len(content) > upload.MAX_BYTES:
        raise Invalid(f"The file is larger than {upload.MAX_BYTES // 1_000_000} MB",
                      code="invalid_upload", errors={"file": "too large"})
    return upload.upload_campaigns(db=db, organisation=user.organisation, user_id=user.id,
                                   content=content, filename=file.filename or "",
                                   dry_run=dry_run)


@router.get("/campaigns/{campaign_id}", response_model=CampaignRead)
def get_campaign(campaign: ScopedCampaign) -> CampaignRead:
    """The campaign with its timeline: every status change, who made it, when and why."""
    return _read(campaign)


@router.patch("/campaigns/{campaign_id}", response_model=CampaignRead,
              dependencies=[_loaded, _managers])
@router.put("/campaigns/{campaign_id}", response_model=CampaignRead,
            dependencies=[_loaded, _managers], operation_id="replace_campaign")
def update_campaign(db: DbSession, user: CurrentUser, campaign: OwnedCampaign,
                    body: CampaignUpdate) -> CampaignRead:
    """Revise the campaign before it runs; an approved or scheduled one goes back for
    approval (a scheduled one gets its held budget back)."""
    return _read(campaigns.update_campaign(db=db, campaign=campaign,
                                           organisation=user.organisation, data=body,
                                           user_id=user.id))


@router.post("/campaigns/{campaign_id}/submit", response_model=CampaignRead,
             dependencies=[_loaded, _managers])
def submit(db: DbSession, user: CurrentUser, campaign: OwnedCampaign) -> CampaignRead:
    return _read(campaigns.submit(db=db, campaign=campaign, user_id=user.id))


@router.post("/campaigns/{campaign_id}/approve", response_model=CampaignRead,
             dependencies=[_loaded, _approvers])
def approve(db: DbSession, user: CurrentUser, campaign: ScopedCampaign) -> CampaignRead:
    return _read(campaigns.approve(db=db, campaign=campaign, user_id=user.id))


@router.post("/campaigns/{campaign_id}/reject", response_model=CampaignRead,
             dependencies=[_loaded, _approvers])
def reject(db: DbSession, user: CurrentUser, campaign: ScopedCampaign,
           body: RejectRequest) -> CampaignRead:
    """Send the campaign back to its owner with the reason, which the owner sees."""
    return _read(campaigns.reject(db=db, campaign=campaign, reason=body.reason,
                                  user_id=user.id))


@router.post("/campaigns/{campaign_id}/launch", response_model=CampaignRead,
             dependencies=[_loaded, _managers])
def launch(db: DbSession, user: CurrentUser, campaign: OwnedCampaign,
           key: IdempotencyKey) -> CampaignRead:
    """Hold the whole budget from the owner's balance (409 `insufficient_funds` if short),
    freeze the audience and start the campaign (scheduled until its period starts)."""
    return _read(campaigns.launch(db=db, campaign=campaign, idempotency_key=key,
                                  user_id=user.id))


@router.post("/campaigns/{campaign_id}/pause", response_model=CampaignRead,
             dependencies=[_loaded, _managers])
def pause(db: DbSession, user: CurrentUser, campaign: SteerableCampaign,
          body: Annotated[ReasonRequest | None, Body()] = None) -> CampaignRead:
    return _read(campaigns.pause(db=db, campaign=campaign, user_id=user.id,
                                 reason=body.reason if body else None))


@router.post("/campaigns/{campaign_id}/resume", response_model=CampaignRead,
             dependencies=[_loaded, _managers])
def resume(db: DbSession, user: CurrentUser, campaign: SteerableCampaign) -> CampaignRead:
    return _read(campaigns.resume(db=db, campaign=campaign, user_id=user.id))


@router.post("/campaigns/{campaign_id}/stop", response_model=CampaignRead,
             dependencies=[_loaded, _managers])
def stop(db: DbSession, user: CurrentUser, campaign: SteerableCampaign, key: IdempotencyKey,
         body: Annotated[ReasonRequest | None, Body()] = None) -> CampaignRead:
    """End the campaign now; what is left of its budget returns to the owner's balance."""
    return _read(campaigns.stop(db=db, campaign=campaign, idempotency_key=key,
                                user_id=user.id, reason=body.reason if body else None))


@router.get("/campaigns/{campaign_id}/forecast", response_model=ForecastRead,
            dependencies=[_loaded, _managers])
def forecast(db: DbSession, scope: CurrentScope, campaign: ScopedCampaign) -> ForecastRead:
    """pricing_ai's forecast of this campaign as saved (what the approver weighs)."""
    return campaigns.forecast(db=db, campaign=campaign, supplier_id=scope.supplier_id,
                              organisation_id=scope.organisation_id,
                              exact=scope.sees_everything)
