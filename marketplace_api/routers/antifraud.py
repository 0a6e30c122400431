"""HTTP routes of the antifraud review: receipts whose supplier discounts were held, for
the retail marketer to approve (captured) or reject (released). Retailer staff only:
these name shoppers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from marketplace_api.deps import CurrentUser, DbSession, require_roles
from marketplace_api.identity.models import Role
from marketplace_api.listing import ListQuery, ListSpec, equals, fetch_page
from marketplace_api.offers import service
from marketplace_api.offers.models import FraudFlag
from marketplace_api.offers.schemas import FraudFlagRead

router = APIRouter(prefix="/antifraud", tags=["antifraud"],
                   dependencies=[Depends(require_roles(Role.retail_marketer, Role.admin))])

FLAGS = ListSpec(resource="flags", key=(FraudFlag.id,),
                 sortable={"id": FraudFlag.id, "created_at": FraudFlag.created_at,
                           "held_minor": FraudFlag.held_minor},
                 filters={"status": equals(FraudFlag.status),
                          "customer_id": equals(FraudFlag.customer_id),
                          "store_id": equals(FraudFlag.store_id), "id": equals(FraudFlag.id)})

FlagId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/flags", response_model=list[FraudFlagRead])
def list_flags(db: DbSession, params: ListQuery, response: Response) -> list[FraudFlag]:
    return fetch_page(db=db, statement=service.select_flags(), params=params, spec=FLAGS,
                      response=response)


@router.get("/flags/{flag_id}", response_model=FraudFlagRead)
def get_flag(db: DbSession, flag_id: FlagId) -> FraudFlag:
    return service.get_flag(db=db, flag_id=flag_id)


@router.post("/flags/{flag_id}/approve", response_model=FraudFlagRead)
def approve_flag(db: DbSession, user: CurrentUser, flag_id: FlagId) -> FraudFlag:
    """The held discounts are captured: the supplier pays them."""
    return service.approve_flag(db=db, flag_id=flag_id, user_id=user.id)


@router.post("/flags/{flag_id}/reject", response_model=FraudFlagRead)
def reject_flag(db: DbSession, user: CurrentUser, flag_id: FlagId) -> FraudFlag:
    """The held discounts are released: the supplier pays nothing for them."""
    return service.reject_flag(db=db, flag_id=flag_id, user_id=user.id)
