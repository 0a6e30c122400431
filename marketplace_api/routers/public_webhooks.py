"""PUBLIC routes: webhooks from payment providers. No login; each request proves itself
by its signature (Stripe's, checked with the webhook secret) or is refused with 400."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from billing import service as billing
from marketplace_api.deps import DbSession

router = APIRouter(tags=["webhooks"])


async def raw_body(request: Request) -> bytes:
    """The exact bytes Stripe signed (parsing first would break the signature)."""
    return await request.body()


@router.post("/webhooks/stripe")
def stripe_webhook(db: DbSession, payload: Annotated[bytes, Depends(raw_body)],
                   signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None
                   ) -> dict:
    """A Stripe event: verified, de-duplicated by event id, applied once (a succeeded
    PaymentIntent credits its top-up, a failed one marks it failed, a refund reverses it)."""
    outcome = billing.handle_stripe_event(db=db, payload=payload, signature=signature)
    return {"received": True, "outcome": outcome}
