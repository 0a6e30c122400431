"""HTTP routes of pricing_ai: the campaign forecast (supplier managers for their own
products, retail staff for any), the retail marketer's price guardrails, and the model
versions (retail staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from marketplace_api.deps import (
    CurrentScope,
    CurrentUser,
    DbSession,
    PathId,
    require_retailer_staff,
    require_roles,
)
from marketplace_api.identity.models import Role
from marketplace_api.listing import ListQuery, ListSpec, contains, equals, fetch_page
from pricing_ai import service as pricing
from pricing_ai.models import Guardrail, ModelArtifact
from pricing_ai.schemas import (
    ForecastRead,
    ForecastRequest,
    GuardrailCreate,
    GuardrailRead,
    GuardrailUpdate,
    ModelRead,
)

GUARDRAIL_ROLES = (Role.retail_marketer, Role.admin)
FORECAST_ROLES = (Role.supplier_manager, Role.retail_marketer, Role.admin)

GUARDRAILS = ListSpec(
    resource="guardrails", key=(Guardrail.id,),
    sortable={"id": Guardrail.id, "scope": Guardrail.scope, "target": Guardrail.target,
              "updated_at": Guardrail.updated_at},
    filters={"q": contains(Guardrail.target), "id": equals(Guardrail.id),
             "scope": equals(Guardrail.scope), "target": equals(Guardrail.target)},
)
MODELS = ListSpec(
    resource="models", key=(ModelArtifact.id.desc(),),
    sortable={"id": ModelArtifact.id, "version": ModelArtifact.version,
              "created_at": ModelArtifact.created_at},
    filters={"is_active": equals(ModelArtifact.is_active), "name": equals(ModelArtifact.name)},
)

router = APIRouter(tags=["pricing"])


def get_guardrail_or_404(db: DbSession, guardrail_id: PathId) -> Guardrail:
    return pricing.get_guardrail(db=db, guardrail_id=guardrail_id)


ScopedGuardrail = Annotated[Guardrail, Depends(get_guardrail_or_404)]
_guardrail_roles = [Depends(require_roles(*GUARDRAIL_ROLES))]


@router.post("/campaigns/forecast", response_model=ForecastRead,
             dependencies=[Depends(require_roles(*FORECAST_ROLES))])
def forecast(db: DbSession, scope: CurrentScope, body: ForecastRequest) -> ForecastRead:
    """Expected reach, activations, redemptions, units, discount spend and incremental
    units and revenue with 80 % intervals, the recommended budget, and the share of offers
    the guardrails clipped — from the same models and policy that serve the campaign."""
    return pricing.forecast_campaign(db=db, request=body, supplier_id=scope.supplier_id,
                                     organisation_id=scope.organisation_id,
                                     exact=scope.sees_everything)


@router.get("/guardrails", response_model=list[GuardrailRead], dependencies=_guardrail_roles)
def list_guardrails(db: DbSession, params: ListQuery, response: Response) -> list[Guardrail]:
    return fetch_page(db=db, statement=pricing.select_guardrails(), params=params,
                      spec=GUARDRAILS, response=response)


@router.post("/guardrails", response_model=GuardrailRead, status_code=201,
             dependencies=_guardrail_roles)
def create_guardrail(db: DbSession, user: CurrentUser, body: GuardrailCreate) -> Guardrail:
    return pricing.create_guardrail(db=db, data=body, user_id=user.id)


@router.get("/guardrails/{guardrail_id}", response_model=GuardrailRead,
            dependencies=_guardrail_roles)
def get_guardrail(guardrail: ScopedGuardrail) -> Guardrail:
    return guardrail


@router.patch("/guardrails/{guardrail_id}", response_model=GuardrailRead,
              dependencies=_guardrail_roles)
@router.put("/guardrails/{guardrail_id}", response_model=GuardrailRead,
            dependencies=_guardrail_roles, operation_id="replace_guardrail")
def update_guardrail(db: DbSession, user: CurrentUser, guardrail: ScopedGuardrail,
                     body: GuardrailUpdate) -> Guardrail:
    return pricing.update_guardrail(db=db, guardrail=guardrail, data=body, user_id=user.id)


@router.delete("/guardrails/{guardrail_id}", response_model=GuardrailRead,
               dependencies=_guardrail_roles)
def delete_guardrail(db: DbSession, guardrail: ScopedGuardrail) -> GuardrailRead:
    shown = GuardrailRead.model_validate(guardrail)
    pricing.delete_guardrail(db=db, guardrail=guardrail)
    return shown


@router.get("/models", response_model=list[ModelRead],
            dependencies=[Depends(require_retailer_staff)])
def list_models(db: DbSession, params: ListQuery, response: Response) -> list[ModelArtifact]:
    return fetch_page(db=db, statement=pricing.select_models(), params=params, spec=MODELS,
                      response=response)
