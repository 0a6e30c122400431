"""The synthetic shoppers: what the retailer sees of them and the traits it cannot see.

Latent traits are correlated with observable things (region, age, home store format,
loyalty tier, app) but never determined by them, so a model has something to learn and
a rule of thumb is not already the answer. Per-shopper arrays have one entry per shopper;
per (shopper, category) arrays are (shoppers, categories).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from retail.simulator.catalog import CATEGORIES, CATEGORY_INDEX, REGIONS, STORE_FORMAT_DRAW, Catalog
from retail.simulator.parameters import MarketParameters

HOUSEHOLD_TRAITS = ("cat", "dog", "baby", "meat_lover", "healthy")
LOYALTY_TIERS = ("base", "silver", "gold")
GENDERS = ("M", "F")
NEVER = 1 << 30  # a week that never comes: no churn, no switch of preferred brand
SENSITIVITY_RANGE = (0.2, 9.0)

# How household traits scale the need for a category, beyond the trait that gates it.
TRAIT_NEED = (
    ("meat_lover", "Мясо", 1.8),
    ("meat_lover", "Колбасы", 1.5),
    ("healthy", "Овощи и фрукты", 1.6),
    ("healthy", "Снеки", 0.6),
    ("healthy", "Шоколад", 0.6),
    ("baby", "Молочные продукты", 1.3),
    ("healthy", "Рыба и морепродукты", 1.4),
)


@dataclass(frozen=True)
class Population:
    # what the retailer knows
    customer_ids: list[str]
    birth_year: np.ndarray
    female: np.ndarray
    home_store: np.ndarray
    region: np.ndarray
    loyalty_tier: np.ndarray       # index into LOYALTY_TIERS
    has_app: np.ndarray
    registered_at: np.ndarray      # datetime64[s], local time
    # shopper traits it does not know
    app_user: np.ndarray           # opens the app and sees personal offers
    income_level: np.ndarray       # relative to the country's median
    household_size: np.ndarray
    visit_rate: np.ndarray         # mean visits a week
    price_sensitivity: np.ndarray  # at week 0; see shopping.py for its meaning
    sensitivity_drift: np.ndarray  # change of log sensitivity per year
    stockpiling: np.ndarray        # how many extra weeks of need a deal makes them buy
    deal_attention: np.ndarray     # how much a deal on the shelf steers brand and SKU choice
    cherry_picker: np.ndarray
    cherry_threshold: np.ndarray   # the depth from which a cherry-picker buys
    traits: dict[str, np.ndarray]  # household traits by name
    join_week: np.ndarray          # first week as a shopper (0: before the history)
    churn_week: np.ndarray         # first week without visits (NEVER: stays)
    # per (shopper, category)
    weekly_need: np.ndarray        # float32 units a week, 0 where the category is not used
    share_logit: np.ndarray        # float32 log-odds of buying the need here, regular prices
    share_drift: np.ndarray        # per shopper, change of share_logit per year
    category_cherry: np.ndarray    # bool: buys this category here only on deep discount
    preferred_slot: np.ndarray     # int64 brand slot within the category
    later_slot: np.ndarray         # the brand they switch to at switch_week
    switch_week: np.ndarray        # int64
    brand_strength: np.ndarray     # float32 utility bonus of the preferred brand

    @property
    def size(self) -> int:
        return len(self.customer_ids)

    def price_sensitivity_at(self, week: int, who: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Sensitivity drifts slowly, in either direction, from its value at week 0."""
        drifted = self.price_sensitivity[who] * np.exp(self.sensitivity_drift[who] * week / 52)
        return np.clip(drifted, *SENSITIVITY_RANGE)


def build_population(rng: np.random.Generator, catalog: Catalog, *, customers: int, weeks: int,
                     start: date, parameters: MarketParameters) -> Population:
    n = customers
    n_categories = len(CATEGORIES)

    age = np.clip(np.round(rng.normal(46, 15, n)), 18, 85).astype(np.int64)
    birth_year = start.year - age - (rng.random(n) < 0.5)
    female = rng.random(n) < 0.58

    format_draw = np.array(STORE_FORMAT_DRAW)[catalog.store_format]
    home_store = rng.choice(len(catalog.store_ids), size=n, p=format_draw / format_draw.sum())
    region = catalog.store_region[home_store]
    home_format = catalog.store_format[home_store]

    region_income = np.array([region_spec[3] for region_spec in REGIONS])[region]
    income_level = np.exp(rng.normal(0.0, 0.45, n)) * region_income * np.where(age >= 65, 0.75, 1.0)
    household_size = np.clip(1 + rng.poisson(1.3, n), 1, 6)

    baby = rng.random(n) < np.where((age >= 24) & (age <= 40), 0.25, 0.02)
    household_size = np.where(baby, np.maximum(household_size, 3), household_size)
    traits = {
        "cat": rng.random(n) < 0.27 + 0.05 * female + 0.05 * (age > 55),
        "dog": rng.random(n) < 0.20 + 0.05 * (household_size >= 3),
        "baby": baby,
        "meat_lover": rng.random(n) < np.where(female, 0.28, 0.45),
        "healthy": rng.random(n) < _sigmoid(-1.0 + 0.8 * np.log(income_level) + 0.3 * female),
    }

    visit_rate = np.exp(rng.normal(np.log(1.15), 0.45, n))
    visit_rate *= np.array([0.75, 1.0, 1.3])[home_format] * np.where(age > 60, 1.15, 1.0)
    visit_rate = np.clip(visit_rate, 0.3, 3.5)

    # Price sensitivity: lower with income, a little higher for pensioners and big
    # families; the noise term is as large as the observable part on purpose.
    log_sensitivity = (np.log(2.0) - 0.5 * np.log(income_level) + 0.15 * (age >= 65)
                       + 0.1 * (household_size >= 4) + rng.normal(0.0, 0.45, n))
    price_sensitivity = np.clip(np.exp(log_sensitivity), *SENSITIVITY_RANGE)
    sensitivity_z = (log_sensitivity - log_sensitivity.mean()) / log_sensitivity.std()
    sensitivity_drift = rng.normal(0.0, 0.15, n)

    cherry_picker = _top_share(sensitivity_z + rng.normal(0.0, 1.0, n),
                               parameters.cherry_picker_share)
    cherry_threshold = np.clip(rng.normal(parameters.cherry_threshold, 0.04, n), 0.18, 0.40)
    stockpiling = np.minimum(np.exp(rng.normal(-0.2, 0.5, n) + 0.35 * sensitivity_z), 5.0)
    # Attention to deals is its own trait: it decides which brand and SKU a shopper takes,
    # not whether they buy, so a high promo share is not the same as price sensitivity.
    deal_attention = np.minimum(np.exp(rng.normal(0.0, 0.7, n)), 5.0)

    has_app = _top_share(-0.04 * age + rng.logistic(0.0, 0.8, n) + 0.2 * cherry_picker,
                         parameters.app_share)
    app_user = has_app & (rng.random(n) < parameters.app_use_given_installed)
    tier_score = (np.log(visit_rate) + 0.4 * np.log(income_level) + 0.3 * has_app
                  + rng.normal(0.0, 0.4, n))
    loyalty_tier = np.searchsorted(np.quantile(tier_score, [0.55, 0.85]), tier_score)

    is_new = rng.random(n) < parameters.new_shopper_share
    join_week = np.where(is_new, rng.integers(1, max(weeks, 2), n), 0)
    start_seconds = np.datetime64(datetime(start.year, start.month, start.day), "s")
    registered_at = np.where(
        is_new,
        # New shoppers sign up in the days before their first visit.
        start_seconds + (join_week * 7 * 86400 - rng.integers(3600, 7 * 86400, n)),
        start_seconds - rng.integers(14 * 86400, 6 * 365 * 86400, n),
    ).astype("datetime64[s]")
    churn_week = _weeks_until(rng, parameters.churn_per_year, n) + join_week

    # Needs per category: household size, a personal taste, and the traits.
    household_need = (household_size / 2.3) ** 0.6
    weekly_need = np.empty((n, n_categories), dtype=np.float32)
    for category_index, spec in enumerate(CATEGORIES):
        uses = traits[spec.trait] if spec.trait else rng.random(n) < spec.users
        taste = rng.lognormal(0.0, 0.4, n)
        weekly_need[:, category_index] = np.where(
            uses, spec.weekly_need * parameters.need_scale * household_need * taste, 0.0)
    for trait, category, factor in TRAIT_NEED:
        weekly_need[:, CATEGORY_INDEX[category]] *= np.where(traits[trait], factor, 1.0)

    category_cherry = np.where(cherry_picker[:, None],
                               rng.random((n, n_categories)) < 0.5,
                               rng.random((n, n_categories)) < 0.04)

    # Share of wallet: frequent visitors and hypermarket shoppers buy more of their need
    # here; every category then varies around the shopper's own level.
    shopper_share = (1.1 + 0.5 * np.log(visit_rate / 1.15)
                     + np.array([0.3, 0.0, -0.3])[home_format] + rng.normal(0.0, 0.6, n))
    share_logit = (shopper_share[:, None] + rng.normal(0.0, 0.8, (n, n_categories))
                   - 3.0 * category_cherry).astype(np.float32)
    share_drift = rng.normal(0.0, 0.3, n)

    preferred_slot, later_slot, switch_week = _brand_preferences(
        rng, catalog, sensitivity_z=sensitivity_z)
    brand_strength = (1.8 - 0.4 * sensitivity_z[:, None]
                      + rng.normal(0.0, 0.9, (n, n_categories)) - 1.5 * category_cherry)
    brand_strength = np.maximum(brand_strength, 0.0).astype(np.float32)

    width = max(6, len(str(n)))
    return Population(
        customer_ids=[f"C{index + 1:0{width}d}" for index in range(n)],
        birth_year=birth_year,
        female=female,
        home_store=home_store,
        region=region,
        loyalty_tier=loyalty_tier,
        has_app=has_app,
        registered_at=registered_at,
        app_user=app_user,
        income_level=income_level,
        household_size=household_size,
        visit_rate=visit_rate,
        price_sensitivity=price_sensitivity,
        sensitivity_drift=sensitivity_drift,
        stockpiling=stockpiling,
        deal_attention=deal_attention,
        cherry_picker=cherry_picker,
        cherry_threshold=cherry_threshold,
        traits=traits,
        join_week=join_week,
        churn_week=churn_week,
        weekly_need=weekly_need,
        share_logit=share_logit,
        share_drift=share_drift,
        category_cherry=category_cherry,
        preferred_slot=preferred_slot,
        later_slot=later_slot,
        switch_week=switch_week,
        brand_strength=brand_strength,
    )


def _brand_preferences(rng: np.random.Generator, catalog: Catalog, *,
                       sensitivity_z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each shopper's favourite brand per category, the one they will move to one day, and
    when. Price-sensitive shoppers lean to economy brands, so the brand they buy tells a
    little about their sensitivity."""
    n = len(sensitivity_z)
    n_categories = len(CATEGORIES)
    preferred = np.empty((n, n_categories), dtype=np.int64)
    later = np.empty((n, n_categories), dtype=np.int64)
    for category_index in range(n_categories):
        brands = catalog.category_brands[category_index]
        brands = brands[brands >= 0]
        weights = np.exp(catalog.brand_log_popularity[brands][None, :]
                         - 0.6 * catalog.brand_tier[brands][None, :] * sensitivity_z[:, None])
        preferred[:, category_index] = _pick(weights, rng.random(n))
        weights[np.arange(n), preferred[:, category_index]] = 0.0
        later[:, category_index] = _pick(weights, rng.random(n))
    switch_week = _weeks_until(rng, 0.10, (n, n_categories))
    return preferred, later, switch_week


def _pick(weights: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(weights, axis=1)
    chosen = (cumulative < uniform[:, None] * cumulative[:, -1:]).sum(axis=1)
    return np.minimum(chosen, weights.shape[1] - 1)


def _weeks_until(rng: np.random.Generator, per_year: float, shape) -> np.ndarray:
    """Weeks until an event that happens to `per_year` of shoppers in a year."""
    if per_year <= 0:
        return np.full(shape, NEVER, dtype=np.int64)
    weekly_hazard = -np.log1p(-per_year) / 52
    weeks = np.ceil(rng.exponential(1 / weekly_hazard, shape))
    return np.minimum(weeks, NEVER).astype(np.int64)


def _top_share(score: np.ndarray, share: float) -> np.ndarray:
    """The `share` of entries with the highest score: an exact share, a noisy ranking."""
    if share <= 0:
        return np.zeros(len(score), dtype=bool)
    return score >= np.quantile(score, 1 - share)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))
