"""Billing's business errors, each with a stable code clients rely on."""

from __future__ import annotations

from core.errors import Conflict, Invalid, NotFound, VitrinaError


class InvalidAmount(Invalid):
    """Zero, negative, non-integer or out-of-range money, or an unknown currency."""

    code = "invalid_amount"


class InsufficientFunds(Conflict):
    """The account holds less than the movement needs; nothing was moved."""

    code = "insufficient_funds"


class IdempotencyKeyReused(Invalid):
    """The same idempotency key came with a different request."""

    code = "idempotency_key_reused"


class MissingIdempotencyKey(Invalid):
    code = "idempotency_key_required"


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_flight"


class AuthorizationNotOpen(Conflict):
    code = "authorization_not_open"


class AuthorizationExceeded(Conflict):
    """A capture asked for more than the authorisation's unused rest."""

    code = "authorization_exceeded"


class NotReversible(Invalid):
    code = "not_reversible"


class AccountNotFound(NotFound):
    code = "account_not_found"


class AuthorizationNotFound(NotFound):
    code = "authorization_not_found"


class TransactionNotFound(NotFound):
    code = "transaction_not_found"


class TopUpNotFound(NotFound):
    code = "top_up_not_found"


class TopUpConflict(Conflict):
    """A bank document number already recorded with different details."""

    code = "top_up_conflict"


class CardTopUpsNotConfigured(Conflict):
    code = "card_top_ups_not_configured"


class PaymentProviderError(Conflict):
    code = "payment_provider_error"


class InvalidWebhook(VitrinaError):
    """A webhook whose signature or timestamp does not check out (HTTP 400)."""

    code = "invalid_webhook"
