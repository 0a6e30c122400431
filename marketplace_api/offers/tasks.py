"""Offers' background work: writing a launched campaign's offers, and giving unused
allowances back to campaign budgets. Tasks take ids, open their own session, run after
the commit that asked for them, and are safe to retry."""

from __future__ import annotations

from core.celery_app import celery_app
from core.db import session_scope
from marketplace_api.offers import service


@celery_app.task(name="offers.materialise_offers", autoretry_for=(OSError,),
                 retry_backoff=True, max_retries=5)
def materialise_offers(campaign_id: int) -> dict:
    """Write the campaign's offers once (a repeat finds them written)."""
    with session_scope() as db:
        done = service.materialise_offers(db=db, campaign_id=campaign_id)
        offer_set = done.offer_set
        return {"campaign_id": campaign_id, "offers": offer_set.offers,
                "treated": offer_set.treated, "holdout": offer_set.holdout,
                "replayed": done.replayed}


@celery_app.task(name="offers.release_allowances")
def release_allowances() -> dict:
    """Past weeks', used-up and ended campaigns' allowances back to the budgets."""
    with session_scope() as db:
        return {"released": service.release_allowances(db=db)}


@celery_app.task(name="offers.capture_pending")
def capture_pending() -> dict:
    """Checkout lines whose capture batch failed (the database went away), captured now."""
    with session_scope() as db:
        return {"captured": service.capture_pending(db=db)}
