"""Who is held out of a campaign: a deterministic split by a hash of campaign and shopper,
the same in every worker and after every restart, so the report compares the same groups
the serving used."""

from __future__ import annotations

import hashlib

BASIS_POINTS = 10_000


def holdout_bucket(*, campaign_id: int, customer_id: str) -> int:
    """The shopper's bucket in 0..9999 for this campaign (independent across campaigns)."""
    digest = hashlib.blake2b(f"{campaign_id}:{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BASIS_POINTS


def in_holdout(*, campaign_id: int, customer_id: str, holdout_bp: int) -> bool:
    """True when the shopper is in the campaign's holdout: recorded, never shown the offer."""
    return holdout_bucket(campaign_id=campaign_id, customer_id=customer_id) < holdout_bp
