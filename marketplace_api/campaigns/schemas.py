"""Campaigns' request and response shapes.

Shape only here (types, ranges); the rules that need the database or the clock — the SKUs
are the owner's, the segment, stores and regions exist, the period is not past, the depth
fields fit the depth mode — live in `service.check_campaign`, which the JSON API and the
file upload share. Money is integer minor units; percentages are basis points.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from marketplace_api.campaigns.models import ActivationMode, CampaignStatus, DepthMode, Goal

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
BasisPoints = Annotated[int, Field(ge=1, le=10_000)]

LIMIT_DESCRIPTION = (
    "Units one shopper may buy with the discount per week. Default by the dearest chosen "
    "SKU's shelf price: up to 100 ₽ → 10, up to 300 ₽ → 5, up to 1,000 ₽ → 3, dearer → 1.")
PERIOD_DESCRIPTION = "A timestamp; without an offset it is the retailer's local time."


class CampaignFields(BaseModel):
    """What a campaign is; every field optional so that PATCH can reuse it."""

    name: Name | None = None
    segment_id: int | None = Field(default=None, ge=1)
    segment_version: int | None = Field(
        default=None, ge=1, description="Default: the segment's current version")
    skus: list[Sku] | None = Field(default=None, min_length=1, max_length=50)
    starts_at: datetime | None = Field(default=None, description=PERIOD_DESCRIPTION)
    ends_at: datetime | None = Field(default=None, description=PERIOD_DESCRIPTION)
    store_ids: list[Code] | None = Field(
        default=None, min_length=1, max_length=5000,
        description="Only these stores; leave out (and regions too) for every store")
    regions: list[Code] | None = Field(default=None, min_length=1, max_length=200,
                                       description="Only the stores of these regions")
    depth_mode: DepthMode | None = None
    discount_bp: BasisPoints | None = Field(default=None, description="fixed: the depth")
    min_discount_bp: BasisPoints | None = Field(default=None, description="ai: shallowest")
    max_discount_bp: BasisPoints | None = Field(default=None, description="ai: deepest")
    goal: Goal | None = Field(default=None, description="ai: what the depths maximise")
    limit_units_per_week: int | None = Field(default=None, ge=1, le=1000,
                                             description=LIMIT_DESCRIPTION)
    budget_minor: int | None = Field(default=None, gt=0, le=10**15,
                                     description="Minor units (kopecks); must be above zero")
    currency: str | None = Field(default=None, min_length=3, max_length=3,
                                 description="Default: the retailer's currency (the only one "
                                             "accepted)")
    holdout_bp: int | None = Field(default=None, ge=0, le=5000,
                                   description="Share of the audience kept without the offer "
                                               "to measure its effect; default 1000 (10 %)")
    activation_mode: ActivationMode | None = None


class CampaignCreate(CampaignFields):
    name: Name
    segment_id: int = Field(ge=1)
    skus: list[Sku] = Field(min_length=1, max_length=50)
    starts_at: datetime = Field(description=PERIOD_DESCRIPTION)
    ends_at: datetime = Field(description=PERIOD_DESCRIPTION)
    depth_mode: DepthMode
    budget_minor: int = Field(gt=0, le=10**15, description="Minor units (kopecks); above zero")


class CampaignUpdate(CampaignFields):
    """Only the fields sent change; an approved or scheduled campaign goes back for
    approval (and a scheduled one gets its budget back)."""


class RejectRequest(BaseModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=2000)]


class ReasonRequest(BaseModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None \
        = None


class StatusChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime = Field(validation_alias="changed_at")
    actor_user_id: int | None = Field(description="null: the system (the schedule)")
    actor: str | None = Field(default=None, description=(
        "who, for people: the name (or email) of a user of the campaign's organisation; "
        "\"retailer\" for the retailer's staff on another organisation's campaign (a "
        "supplier never sees their names); null for the system"))
    from_status: CampaignStatus | None
    to_status: CampaignStatus
    reason: str | None


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organisation_id: int
    name: str
    status: CampaignStatus
    segment_id: int
    segment_version: int
    skus: list[str]
    starts_at: datetime
    ends_at: datetime
    store_ids: list[str] | None
    regions: list[str] | None
    depth_mode: DepthMode
    discount_bp: int | None
    min_discount_bp: int | None
    max_discount_bp: int | None
    goal: Goal | None
    limit_units_per_week: int
    budget_minor: int
    currency: str
    holdout_bp: int
    activation_mode: ActivationMode
    stopped_early: bool
    rejection_reason: str | None
    materialisation_id: int | None
    launched_at: datetime | None
    ended_at: datetime | None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    timeline: list[StatusChangeRead] = Field(validation_alias="history",
                                             description="Every status change, oldest first")


class UploadProblem(BaseModel):
    row: int = Field(description="The spreadsheet row (the header is row 1)")
    column: str | None = Field(description="The column's header as in the file; null when "
                                           "the problem is the whole row")
    problem: str


class UploadReport(BaseModel):
    dry_run: bool
    sha256: str
    rows: int
    valid_rows: int
    problems: list[UploadProblem]
    created_ids: list[int] = Field(description="Drafts created by this file (on a repeated "
                                               "upload: the ones it created the first time)")
    existing_ids: list[int] = Field(default_factory=list,
                                    description="Rows identical to campaigns an earlier "
                                                "file already created: not created again")
    replayed: bool = Field(default=False, description="This very file was uploaded before")

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
