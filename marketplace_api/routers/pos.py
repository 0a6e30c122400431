"""HTTP routes of the retailer's checkout (API key of kind `pos`): a receipt gets its
supplier discounts (and the supplier pays them), a return gives them back. Both are
idempotent: the same receipt id (or return id) and body answer the first response again;
the same id with another body is a 422. Rate-limited per key (POS_RATE_LIMIT)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from core.db import session_scope
from marketplace_api.deps import DbSession
from marketplace_api.offers import service
from marketplace_api.offers.ratelimit import pos_access
from marketplace_api.offers.schemas import ReceiptIn, ReceiptRead, ReturnIn, ReturnRead

router = APIRouter(prefix="/pos", tags=["checkout"],
                   dependencies=[Depends(pos_access)])


@router.post("/receipts", response_model=ReceiptRead)
def apply_receipt(receipt: ReceiptIn) -> Any:
    """Per line the supplier discount to give and the personal price, within the
    shopper's weekly limits; the discount is captured from the campaign (or held for
    antifraud review, still given at the till)."""
    # The receipt commits first; its captures then go to the ledger in a batch with other
    # receipts' (group commit). The answer does not depend on them.
    with session_scope() as db:
        checked_out = service.process_receipt(db=db, data=receipt)
    service.capture_lines(checked_out.captures)
    return checked_out.answer


@router.post("/receipts/{receipt_id}/return", response_model=ReturnRead)
def return_lines(db: DbSession,
                 receipt_id: Annotated[str, Path(min_length=1, max_length=64)],
                 body: ReturnIn) -> Any:
    """Returned units give their supplier discount back to the campaign."""
    return service.return_lines(db=db, receipt_id=receipt_id, data=body)
