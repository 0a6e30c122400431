"""pricing_ai's API shapes: guardrails, model versions, and the campaign forecast."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pricing_ai.models import GuardrailScope


class GuardrailCreate(BaseModel):
    scope: GuardrailScope
    target: str | None = Field(default=None, max_length=100,
                               description="The SKU or category; empty for the global row")
    min_price_minor: int | None = Field(default=None, ge=0)
    max_discount_bp: int | None = Field(default=None, ge=0, le=10_000)
    min_margin_bp: int | None = Field(default=None, ge=0, le=100_000)

    @model_validator(mode="after")
    def _shape(self) -> GuardrailCreate:
        if self.scope == GuardrailScope.everything:
            if self.min_margin_bp is None:
                raise ValueError("the global guardrail sets min_margin_bp")
            if self.min_price_minor is not None or self.max_discount_bp is not None:
                raise ValueError("min price and max discount are set per SKU or category")
        else:
            if not self.target:
                raise ValueError("a SKU or category guardrail names its target")
            if self.min_margin_bp is not None:
                raise ValueError("the minimum margin is global")
            if self.min_price_minor is None and self.max_discount_bp is None:
                raise ValueError("give min_price_minor and/or max_discount_bp")
        return self


class GuardrailUpdate(BaseModel):
    min_price_minor: int | None = Field(default=None, ge=0)
    max_discount_bp: int | None = Field(default=None, ge=0, le=10_000)
    min_margin_bp: int | None = Field(default=None, ge=0, le=100_000)


class GuardrailRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    scope: GuardrailScope
    target: str
    min_price_minor: int | None
    max_discount_bp: int | None
    min_margin_bp: int | None
    currency: str
    created_at: datetime
    updated_at: datetime


class ModelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    version: int
    is_active: bool
    metrics: dict[str, Any]
    data_window: dict[str, Any]
    features: dict[str, Any]
    seconds: float | None
    created_at: datetime


class DepthMode(BaseModel):
    kind: Literal["fixed", "ai"]
    discount_bp: int | None = Field(default=None, ge=1, le=10_000,
                                    description="fixed: the depth for everyone")
    min_bp: int | None = Field(default=None, ge=1, le=10_000, description="ai: lowest depth")
    max_bp: int | None = Field(default=None, ge=1, le=10_000, description="ai: deepest depth")
    step_bp: int = Field(default=500, ge=50, le=5_000)
    goal: Literal["units", "revenue"] = "units"

    @model_validator(mode="after")
    def _shape(self) -> DepthMode:
        if self.kind == "fixed" and self.discount_bp is None:
            raise ValueError("a fixed depth needs discount_bp")
        if self.kind == "ai" and (self.min_bp is None or self.max_bp is None
                                  or self.min_bp > self.max_bp):
            raise ValueError("AI depth needs min_bp <= max_bp")
        return self


class ForecastRequest(BaseModel):
    segment_id: int | None = None
    segment_version: int | None = None
    rule: Any | None = Field(default=None, description="a rule tree instead of a segment")
    skus: list[str] = Field(min_length=1, max_length=50)
    starts_on: date | None = None
    ends_on: date | None = None
    weeks: int | None = Field(default=None, ge=1, le=52)
    stores: list[str] | None = None
    depth: DepthMode
    units_per_week_limit: float | None = Field(default=None, gt=0)
    holdout_share: float = Field(default=0.1, ge=0, lt=1)
    # AI depths spend up to it; without one they follow the recommended plan.
    budget_minor: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _audience(self) -> ForecastRequest:
        if (self.segment_id is None) == (self.rule is None):
            raise ValueError("give either segment_id or rule")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class FigureRead(BaseModel):
    expected: float
    low: float
    high: float


class MoneyFigureRead(BaseModel):
    """An expected amount and its 80 % interval, in whole minor units (never a float)."""

    expected: int
    low: int
    high: int

    @model_validator(mode="before")
    @classmethod
    def _whole_minor_units(cls, value: Any) -> Any:
        # Expectations come out of the models as real numbers; money leaves as kopecks,
        # rounded half up, with the interval widened outward so it never shrinks.
        fields = value if isinstance(value, dict) else {
            "expected": value.expected, "low": value.low, "high": value.high}
        return {"expected": int(Decimal(repr(fields["expected"])).quantize(0, ROUND_HALF_UP)),
                "low": math.floor(fields["low"]), "high": math.ceil(fields["high"])}


class CountRead(BaseModel):
    count: int | None
    label: str
    below_minimum: bool


class ForecastRead(BaseModel):
    model_version: int
    segment_size: CountRead
    reach: CountRead
    activations: FigureRead
    redemptions: FigureRead
    units: FigureRead
    discount_spend_minor: MoneyFigureRead
    incremental_units: FigureRead
    incremental_revenue_minor: MoneyFigureRead
    # The high end of the recommended plan's 80 % spend interval (see service).
    recommended_budget_minor: int
    clipped_share: float
    cherry_capped_share: float
    mean_depth_bp: float
    weeks: int
    currency: str
    notes: list[str] = []
