"""Offers' business errors, each with a stable code the app and the checkout rely on."""

from __future__ import annotations

from core.errors import Conflict, Invalid, NotFound


class OfferNotFound(NotFound):
    """No such offer for this shopper (also another shopper's offer: ids do not leak)."""

    code = "offer_not_found"


class OfferNotLive(Conflict):
    """The campaign is paused, ended or outside its period: the offer cannot be taken."""

    code = "offer_not_live"


class BudgetExhausted(Conflict):
    """The campaign's budget cannot cover this shopper's allowance: the offer is hidden."""

    code = "budget_exhausted"


class ReceiptIdReused(Invalid):
    """The receipt id came before with a different body."""

    code = "receipt_id_reused"


class InvalidReceipt(Invalid):
    code = "invalid_receipt"


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"


class InvalidReturn(Invalid):
    code = "invalid_return"


class UnknownStore(Invalid):
    code = "unknown_store"


class FlagNotFound(NotFound):
    code = "fraud_flag_not_found"


class FlagAlreadyReviewed(Conflict):
    code = "fraud_flag_reviewed"


class CampaignNotLaunched(Conflict):
    """Offers are written only for a launched campaign with a frozen audience."""

    code = "campaign_not_launched"

