"""Campaigns' background work: the schedule that starts campaigns at their period's start
and ends them at its end, giving the unspent money back.

`advance_due` runs from celery beat every minute and hands each due campaign, by id, to
`advance_campaign`, which opens its own transaction. Both are safe to retry: a campaign is
moved only if it is still due, and the money is released under keys made of the campaign
id, so a second run finds nothing left to do.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from core.celery_app import celery_app
from core.db import session_scope
from marketplace_api.campaigns import service


@celery_app.task(name="campaigns.advance_campaign", autoretry_for=(OperationalError,),
                 retry_backoff=True, max_retries=5)
def advance_campaign(campaign_id: int) -> dict:
    """Start or end one campaign if its time has come."""
    with session_scope() as db:
        advanced = service.advance(db=db, campaign_id=campaign_id)
        return {"campaign_id": advanced.campaign_id, "status": str(advanced.status),
                "changed": advanced.changed}


@celery_app.task(name="campaigns.advance_due")
def advance_due() -> dict:
    """Find the campaigns whose start or end has come and advance each on its own."""
    with session_scope() as db:
        due = service.due_campaign_ids(db=db)
    for campaign_id in due:
        advance_campaign.delay(campaign_id)
    return {"due": due}
