"""HTTP routes of measurement: a campaign's report (delivery, spend, and the incremental
effect against its holdout) and the daily settlement feed of captured supplier discounts.

A supplier's user reads only its own organisation's campaigns and settlement (another's
answer 404) and sees counts rounded or "< 100"; retailer staff (marketer, finance officer,
admin) read every organisation's, with exact counts.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from core.errors import NotFound
from marketplace_api.campaigns import service as campaigns
from marketplace_api.campaigns.models import Campaign
from marketplace_api.deps import CurrentScope, DbSession, get_current_user
from marketplace_api.identity.service import Scope
from marketplace_api.measurement import report, settlement
from marketplace_api.measurement.schemas import CampaignReportRead, SettlementRead

router = APIRouter(tags=["measurement"], dependencies=[Depends(get_current_user)])


MAX_ID = 2**31 - 1


def get_campaign_or_404(db: DbSession, scope: CurrentScope,
                        campaign_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Campaign:
    return campaigns.get_campaign(db=db, campaign_id=campaign_id,
                                  organisation_id=scope.organisation_id)


ScopedCampaign = Annotated[Campaign, Depends(get_campaign_or_404)]


@router.get("/campaigns/{campaign_id}/report", response_model=CampaignReportRead)
def campaign_report(db: DbSession, scope: CurrentScope,
                    campaign: ScopedCampaign) -> CampaignReportRead:
    """Served, activated and redeemed shoppers, redeemed units, the discount spent (the
    ledger's captures minus reversals) and the budget left, a daily series, and the
    incremental units and revenue over the holdout with a 95 % interval and iROAS."""
    return report.campaign_report(db=db, campaign=campaign, exact=scope.sees_everything)


def _settlement_organisation(scope: Scope, organisation_id: int | None) -> int | None:
    """Retailer staff: the organisation asked for, or all; a supplier: its own only."""
    if scope.sees_everything:
        return organisation_id
    if organisation_id is not None and organisation_id != scope.organisation_id:
        raise NotFound(f"No organisation {organisation_id}")
    return scope.organisation_id


Day = Annotated[date, Query(description="The retailer's local day, YYYY-MM-DD")]
OrganisationFilter = Annotated[int | None, Query(ge=1, le=MAX_ID,
                                                 description="One organisation only")]


@router.get("/settlement", response_model=SettlementRead)
def settlement_feed(db: DbSession, scope: CurrentScope, day: Day,
                    organisation_id: OrganisationFilter = None) -> settlement.Settlement:
    """The day's captured supplier discounts per organisation, campaign, SKU and store,
    with per-campaign totals equal to the ledger's captures minus reversals."""
    return settlement.settlement(db=db, day=day, organisation_id=_settlement_organisation(
        scope, organisation_id))


@router.get("/settlement.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def settlement_csv(db: DbSession, scope: CurrentScope, day: Day,
                   organisation_id: OrganisationFilter = None) -> Response:
    """The same feed as CSV for the accounting system: line rows, then campaign totals;
    amounts as decimal text in the row's currency."""
    found = settlement.settlement(db=db, day=day, organisation_id=_settlement_organisation(
        scope, organisation_id))
    suffix = "" if organisation_id is None else f"-{organisation_id}"
    return Response(settlement.settlement_csv(found), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="settlement-{day}{suffix}.csv"'})
