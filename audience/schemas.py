"""Audience's request and response shapes. Rules arrive as plain JSON: `audience.rules`
checks them and names the offending node, which a generic schema could not do.

No response here carries a shopper id: counts appear as `ShownCountRead`, which for a
supplier's user is rounded or "< 100" (see `audience.service`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from audience.models import BuildMode, BuildStatus, SegmentStatus

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Rule = Annotated[dict[str, Any], Field(
    description='A rule tree: {"all": [...]}, {"any": [...]}, {"not": {...}} or a condition '
                '{"field", "op", "value"}; see GET /audience/fields for fields and operators.',
    examples=[{"all": [{"field": "cat_owner", "op": "eq", "value": True},
                       {"field": "stores_count", "op": "gte", "value": 2},
                       {"field": "avg_check_minor", "op": "gte", "value": 100_000}]}])]


class AudienceBase(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Bilingual(BaseModel):
    ru: str
    en: str


class FieldValueRead(BaseModel):
    value: str | bool
    label: str


class FieldRangeRead(BaseModel):
    min: float | None
    max: float | None
    typical_max: float | None = Field(description="The 99th percentile in the current data, "
                                                  "rounded up")


class FieldRead(BaseModel):
    """One field of the segment language, as the rule builder shows it."""

    name: str
    type: Literal["number", "money", "enum", "bool", "set"]
    ops: list[str]
    unit: str | None = Field(description="per_week, day, kopeck, percent, count, year, "
                                         "score, probability; null for enums and sets")
    group: str
    integer: bool
    label: Bilingual
    description: Bilingual
    values: list[FieldValueRead] | None = Field(
        description="The allowed values of an enum, set or yes/no field")
    range: FieldRangeRead | None = Field(
        description="For numbers and money: the natural bounds where there are some (0–100 "
                    "for a percentage), else the 99th percentile as the upper end")


class ShownCountRead(AudienceBase):
    """A count as the caller may see it: exact for retailer staff; for a supplier's user
    rounded to the nearest 10, or null with the label "< 100" below the minimum."""

    count: int | None
    label: str
    exact: bool
    below_minimum: bool


class BucketRead(AudienceBase):
    value: str | bool | None
    label: str
    count: ShownCountRead


class EstimateRequest(BaseModel):
    rule: Rule


class EstimateRead(AudienceBase):
    count: ShownCountRead
    base: ShownCountRead = Field(description="All shoppers in the feature table")
    share_of_base: float | None = Field(description="count / base, 0..1; null when the count "
                                                    "may not be shown")
    breakdown: dict[str, list[BucketRead]] = Field(
        description='By region, home_store and has_app, largest first; at most 20 buckets '
                    'each, the last being "__other__" (the rest) when there are more; a null '
                    'value is "unknown"')
    feature_build_id: int
    as_of: datetime = Field(description="The end of the feature window")
    min_audience_size: int


class SegmentCreate(BaseModel):
    name: Name
    description: str = Field(default="", max_length=2000)
    rule: Rule


class SegmentUpdate(BaseModel):
    """Fields left out stay as they are; a changed rule makes a new version."""

    name: Name | None = None
    description: str | None = Field(default=None, max_length=2000)
    rule: Rule | None = None


class SegmentRead(AudienceBase):
    id: int
    organisation_id: int
    name: str
    description: str
    status: SegmentStatus
    version: int = Field(description="The current version")
    rule: dict[str, Any] = Field(description="The current version's rule")
    size: ShownCountRead | None = Field(
        description="The current version's size in the newest feature build")
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class SegmentVersionRead(AudienceBase):
    id: int
    segment_id: int
    version: int
    rule: dict[str, Any]
    created_at: datetime


class MaterialiseRequest(BaseModel):
    version: int | None = Field(default=None, ge=1,
                                description="The version to freeze; the current one if left out")


class MaterialisationRead(AudienceBase):
    id: int
    segment_id: int
    segment_version_id: int
    version: int
    feature_build_id: int
    members: ShownCountRead
    created_at: datetime


class FeatureBuildRead(AudienceBase):
    id: int
    status: BuildStatus
    mode: BuildMode
    window_weeks: int
    as_of: datetime | None
    customers: int
    recomputed: int
    lines: int
    seconds: float
    error: str | None
    started_at: datetime
    published_at: datetime | None
