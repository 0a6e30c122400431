"""Stripe, through its SDK: PaymentIntents for card top-ups and webhook verification.

Off unless STRIPE_SECRET_KEY (and STRIPE_WEBHOOK_SECRET) are set; STRIPE_API_BASE points
the SDK at another Stripe-compatible server (localstripe in tests).
"""

from __future__ import annotations

from typing import Any

import stripe

from billing import errors
from core.settings import get_settings

# Stripe's default: a signed event older than this is refused (replay protection).
WEBHOOK_TOLERANCE_SECONDS = 300


def require_configured() -> None:
    settings = get_settings()
    if not settings.stripe_secret_key or not settings.stripe_webhook_secret:
        raise errors.CardTopUpsNotConfigured(
            "Card top-ups are not configured (no Stripe keys); ask the retailer's finance "
            "officer to record a bank transfer instead")


def _client() -> stripe.StripeClient:
    require_configured()
    settings = get_settings()
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
    return stripe.StripeClient(settings.stripe_secret_key, base_addresses=base,
                               max_network_retries=2)


def create_payment_intent(*, amount_minor: int, currency: str, metadata: dict[str, str],
                          idempotency_key: str) -> tuple[str, str]:
    """A PaymentIntent's id and client secret."""
    try:
        intent = _client().v1.payment_intents.create(
            params={"amount": amount_minor, "currency": currency.lower(),
                    "metadata": metadata, "payment_method_types": ["card"]},
            options={"idempotency_key": idempotency_key})
    except stripe.StripeError as exc:
        raise errors.PaymentProviderError(f"Stripe refused the payment: {exc}") from exc
    return intent.id, intent.client_secret


def client_secret(*, payment_intent_id: str) -> str:
    try:
        return _client().v1.payment_intents.retrieve(payment_intent_id).client_secret
    except stripe.StripeError as exc:
        raise errors.PaymentProviderError(f"Stripe did not answer: {exc}") from exc


def verify_event(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if Stripe signed it with our webhook secret within the tolerance."""
    secret = get_settings().stripe_webhook_secret
    if not secret:
        raise errors.InvalidWebhook("Stripe webhooks are not configured")
    if not signature:
        raise errors.InvalidWebhook("Missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret,
                                               tolerance=WEBHOOK_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise errors.InvalidWebhook(f"Bad Stripe signature: {exc.user_message or exc}") from exc
    except ValueError as exc:
        raise errors.InvalidWebhook("The webhook body is not a Stripe event") from exc
    return event.to_dict()
