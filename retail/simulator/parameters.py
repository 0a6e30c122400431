"""The knobs of the synthetic market, kept in one place so that `truth/market.json` can
record them and `Market.load` can re-create exactly the same world."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class MarketParameters:
    # Shoppers
    app_share: float = 0.60              # shoppers who installed the retailer's app
    app_use_given_installed: float = 0.85  # of those, who actually open it and see offers
    cherry_picker_share: float = 0.15    # shoppers who mostly buy on deep discount
    new_shopper_share: float = 0.12      # shoppers who join during the history
    churn_per_year: float = 0.10         # yearly share of shoppers who stop coming
    home_store_share: float = 0.85       # visits made in the home store
    anonymous_share: float = 0.03        # visits where no loyalty card is scanned
    need_scale: float = 1.0              # multiplies every household's weekly category need

    # How shoppers respond to a discount (see shopping.py)
    depth_saturation: float = 0.25       # depth giving 63 % of the full response
    cherry_threshold: float = 0.27       # mean depth from which a cherry-picker buys
    offers_seen_only_in_app: bool = True  # a personal offer changes behaviour only if seen

    # The retailer's own promotions
    national_promo_share: float = 0.07   # SKUs on a national promo in a two-week cycle
    regional_promo_share: float = 0.03   # SKUs on an extra promo in one region for a week
    max_promo_depth_bp: int = 5000

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MarketParameters:
        known = {field.name for field in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown market parameters: {sorted(unknown)}")
        return cls(**data)
