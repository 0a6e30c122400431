"""One week of shopping for many (shopper, category) pairs at once: the behavioural heart
of the simulator.

For every pair the week goes: the household uses up some of its pantry; it needs to
restock with a probability that rises as the pantry empties (and, for storable goods,
when a deal tempts it to buy early); it buys here rather than elsewhere with its share of
wallet, raised by a discount according to its price sensitivity, and a cherry-picker does
so almost only on a deep discount; it picks a brand (its preferred one unless a deal on
another brand wins) and a SKU, sometimes a second one; and a deal makes stockpiling
shoppers buy more units, which they then do not need to buy in the following weeks.

Price sensitivity is the log-odds of buying a category here that a discount of full
strength adds: a depth d adds sensitivity × (1 − exp(−d / depth_saturation)), so with the
default saturation of 25 % a 10 % discount gives a third of it, 25 % two thirds and 50 %
six sevenths. The same depth also raises the chance of buying this week at all by part
of it (more for storable goods), which is pull-forward, not new demand.

Categories do not interact (a shopper's visits are the only thing they share, and deals
do not change visits), so a run can simulate just the pairs it needs: all of them for
the history, only the offered ones to evaluate a campaign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retail.simulator import draws
from retail.simulator.catalog import CATEGORIES, Catalog
from retail.simulator.parameters import MarketParameters
from retail.simulator.population import Population
from retail.simulator.promotions import PromoWeek

VISIT_SLOTS = 7  # at most this many visits a week
MAX_UNITS_PER_LINE = 48
CHERRY_SHARPNESS = 0.025  # how abruptly a cherry-picker switches on around the threshold
SECOND_ITEM_SHARE = 0.4   # of a purchase's amount, when it includes a second SKU

STORABLE = np.array([spec.storable for spec in CATEGORIES], dtype=np.float32)
TRIP_WEEKS = np.array([spec.trip_weeks for spec in CATEGORIES], dtype=np.float32)
VARIETY = np.array([spec.variety for spec in CATEGORIES], dtype=np.float32)


@dataclass(frozen=True)
class PersonalDeals:
    """Personal offers running this week, sorted by `key` without repeats. `pair` is the
    position of the offer's (shopper, category) in the run."""

    pair: np.ndarray
    sku: np.ndarray
    depth_bp: np.ndarray
    seen: np.ndarray  # the shopper knows about it, so it can change what they do
    key: np.ndarray   # pair × SKUs + sku, for look-ups


@dataclass(frozen=True)
class Purchases:
    """One week's receipt lines: at most two per (shopper, category) bought here."""

    pair: np.ndarray
    shopper: np.ndarray
    category: np.ndarray
    sku: np.ndarray
    visit: np.ndarray          # which of the shopper's visits this week
    quantity: np.ndarray
    price_minor: np.ndarray
    discount_minor: np.ndarray
    promo_flag: np.ndarray     # the retailer's promo price applied
    offer_discount_minor: np.ndarray  # the part of the discount that is a personal offer


class ShoppingRun:
    """The (shopper, category) pairs one simulation follows week by week, with their
    fixed traits gathered once. `flat` is shopper × categories + category, ascending."""

    def __init__(self, *, catalog: Catalog, population: Population,
                 parameters: MarketParameters, seed: int, flat: np.ndarray) -> None:
        n_categories = len(CATEGORIES)
        self.catalog = catalog
        self.population = population
        self.parameters = parameters
        self.seed = seed
        self.flat = flat
        self.shopper = flat // n_categories
        self.category = flat % n_categories
        self.shoppers, self.owner = np.unique(self.shopper, return_inverse=True)
        self.region = population.region[self.shopper]
        self.need = population.weekly_need.ravel()[flat]
        self.uses = self.need > 0
        self.need_or_one = np.where(self.uses, self.need, np.float32(1))
        self.share_logit = population.share_logit.ravel()[flat]
        self.share_drift = population.share_drift[self.shopper].astype(np.float32)
        self.cherry = population.category_cherry.ravel()[flat]
        self.strength = population.brand_strength.ravel()[flat]
        self.preferred_slot = population.preferred_slot.ravel()[flat]
        self.later_slot = population.later_slot.ravel()[flat]
        self.switch_week = population.switch_week.ravel()[flat]
        self.stockpiling = population.stockpiling[self.shopper].astype(np.float32)
        self.attention = population.deal_attention[self.shopper].astype(np.float32)
        self.cherry_threshold = population.cherry_threshold[self.shopper].astype(np.float32)
        self.storable = STORABLE[self.category]
        self.trip_weeks = TRIP_WEEKS[self.category]
        self.variety = VARIETY[self.category]
        self.brand_log_popularity = catalog.brand_log_popularity.astype(np.float32)
        self.sku_log_popularity = catalog.sku_log_popularity.astype(np.float32)

    def initial_pantry(self) -> np.ndarray:
        """Stock at home when the history starts: somewhere in a restocking cycle."""
        cover = draws.uniform(self.seed, draws.PANTRY, 0, self.flat) * np.float32(1.5)
        return self.need * self.trip_weeks * cover

    def visits(self, week: int, visit_season: float) -> np.ndarray:
        """Visits this week of each shopper in the run (0 before joining, after churning;
        the weeks before the history count as its first)."""
        population = self.population
        shoppers = self.shoppers
        rate = population.visit_rate[shoppers] * visit_season
        count = draws.poisson(rate, draws.uniform(self.seed, draws.VISITS, week, shoppers),
                              VISIT_SLOTS)
        active = ((population.join_week[shoppers] <= max(week, 0))
                  & (week < population.churn_week[shoppers]))
        return np.where(active, count, 0)

    def week(self, *, week: int, season: np.ndarray, holiday: np.ndarray, visit_season: float,
             pantry: np.ndarray, promos: PromoWeek,
             deals: PersonalDeals | None = None) -> Purchases:
        """Simulate one week; `pantry` (one entry per pair) is updated in place."""
        seed, flat = self.seed, self.flat
        visits = self.visits(week, visit_season)[self.owner]
        visiting = visits > 0
        sensitivity = self.population.price_sensitivity_at(week, self.shoppers).astype(
            np.float32)[self.owner]
        preferred_slot = np.where(week >= self.switch_week, self.later_slot, self.preferred_slot)
        depth, personal = self._depth_seen(promos, deals, preferred_slot)
        response = _response(depth, self.parameters)
        deep = _deep(depth, self.cherry_threshold)

        # The pantry empties; the emptier it is, the likelier a restock this week. In the
        # store, a deal on storable goods makes sensitive shoppers restock early.
        consumption = draws.uniform(seed, draws.CONSUMPTION, week, flat)
        pantry -= (self.need * season[self.category]
                   * (np.float32(0.75) + np.float32(0.5) * consumption))
        np.maximum(pantry, 0, out=pantry)
        cover = pantry / self.need_or_one
        temptation = (sensitivity * response * (np.float32(0.2) + np.float32(0.6) * self.storable)
                      + np.float32(3) * self.cherry * deep
                      * (np.float32(0.3) + np.float32(0.7) * self.storable))
        need_logit = (np.float32(3) * (1 - cover) + visiting * temptation
                      + np.float32(4) * holiday[self.category])
        needs = self.uses & (draws.uniform(seed, draws.NEED, week, flat) < _sigmoid(need_logit))

        # Here or elsewhere: the share of wallet, moved by the deal.
        share_logit = self.share_logit + self.share_drift * np.float32(week / 52)
        where = draws.uniform(seed, draws.WHERE, week, flat)
        deal_pull = sensitivity * response + np.float32(4.5) * self.cherry * deep
        here = needs & visiting & (where < _sigmoid(share_logit + deal_pull))
        # Without a visit this week, a shopper who would have bought here waits for the next.
        waits = needs & ~visiting & (where < _sigmoid(share_logit))
        elsewhere = needs & ~here & ~waits

        regular_amount = self.need * self.trip_weeks * (1 + holiday[self.category]) * (
            np.float32(0.5) + draws.uniform(seed, draws.QUANTITY, week, flat))
        pantry[elsewhere] += regular_amount[elsewhere]

        # A deal makes stockpilers take home more than a regular trip's worth.
        bought = np.nonzero(here)[0]
        stock_up = self.stockpiling[bought] * self.storable[bought] * (
            np.float32(2.5) * response[bought] + np.float32(2) * self.cherry[bought] * deep[bought])
        chooser = _ItemChooser(self, promos, deals, personal, sensitivity=sensitivity,
                               preferred_slot=preferred_slot)
        pair, sku, offer_bp, quantity = self._basket(week, chooser, bought,
                                                     regular_amount[bought] * (1 + stock_up))
        np.add.at(pantry, pair, quantity * self.catalog.sku_pack_units[sku].astype(np.float32))

        price = self.catalog.regular_price_minor[sku]
        promo_bp = promos.sku_depth_bp[self.region[pair], sku]
        discount = (quantity * price * np.maximum(promo_bp, offer_bp) + 5_000) // 10_000
        offer_applies = offer_bp > promo_bp
        line_visits = visits[pair]
        visit = np.minimum(
            (draws.uniform(seed, draws.VISIT_CHOICE, week, flat[pair]) * line_visits)
            .astype(np.int64), line_visits - 1)
        return Purchases(pair=pair, shopper=self.shopper[pair], category=self.category[pair],
                         sku=sku, visit=visit, quantity=quantity, price_minor=price,
                         discount_minor=discount, promo_flag=(promo_bp > 0) & ~offer_applies,
                         offer_discount_minor=np.where(offer_applies, discount, 0))

    def _depth_seen(self, promos: PromoWeek, deals: PersonalDeals | None,
                    preferred_slot: np.ndarray) -> tuple[np.ndarray, _PersonalView | None]:
        """The depth each pair reacts to: a deal on the shopper's own brand counts in full,
        a deal on another brand only as far as they would leave their brand for it."""
        catalog, region, category = self.catalog, self.region, self.category
        preferred_brand = catalog.category_brands[category, preferred_slot]
        loyalty = brand_loyalty(catalog, preferred_brand, self.strength)
        other_brand_depth = np.where(promos.best_brand[region, category] == preferred_brand,
                                     promos.second_depth[region, category],
                                     promos.best_depth[region, category])
        depth = np.maximum(promos.brand_depth[region, preferred_brand],
                           (1 - loyalty) * other_brand_depth)
        personal = None
        if deals is not None and len(deals.pair):
            personal = _PersonalView(catalog, promos, deals, run=self,
                                     preferred_slot=preferred_slot, loyalty=loyalty)
            depth[personal.pairs] = personal.depth
        return depth, personal

    def _basket(self, week: int, chooser: _ItemChooser, bought: np.ndarray,
                amount: np.ndarray) -> tuple[np.ndarray, ...]:
        """The lines of the pairs bought here: (pair, sku, offer depth, packs). Some
        purchases add a second SKU of the category (milk and yoghurt, apples and tomatoes)
        that shares the amount; a cherry-picker takes the deal and nothing else."""
        catalog = self.catalog
        sku, offer_bp = chooser.choose(bought, week, draws.BRAND, draws.SKU)
        second = ((draws.uniform(self.seed, draws.VARIETY, week, self.flat[bought])
                   < self.variety[bought]) & ~self.cherry[bought])
        second_pair = bought[second]
        second_sku, second_offer_bp = chooser.choose(second_pair, week, draws.SECOND_BRAND,
                                                     draws.SECOND_SKU)
        second_amount = amount[second] * np.float32(SECOND_ITEM_SHARE)
        amount = np.where(second, amount * np.float32(1 - SECOND_ITEM_SHARE), amount)
        quantity = _packs(catalog, sku, amount)
        second_quantity = _packs(catalog, second_sku, second_amount)
        # The same SKU twice is one line with both quantities.
        same = second_sku == sku[second]
        quantity[np.flatnonzero(second)[same]] += second_quantity[same]
        other = ~same
        return (np.concatenate([bought, second_pair[other]]),
                np.concatenate([sku, second_sku[other]]),
                np.concatenate([offer_bp, second_offer_bp[other]]),
                np.concatenate([quantity, second_quantity[other]]))


def brand_loyalty(catalog: Catalog, preferred_brand: np.ndarray,
                  strength: np.ndarray) -> np.ndarray:
    """Probability of choosing the preferred brand when nothing is on promo."""
    popularity = np.exp(catalog.brand_log_popularity).astype(np.float32)
    popularity[-1] = 0  # the padding "brand"
    category_total = popularity[catalog.category_brands].sum(axis=1)
    brand_category = catalog.brand_category[preferred_brand]
    preferred = popularity[preferred_brand] * np.exp(strength)
    return preferred / (category_total[brand_category] - popularity[preferred_brand] + preferred)


class _PersonalView:
    """How this week's personal offers change the brand depths a shopper sees, for the
    pairs they touch."""

    def __init__(self, catalog: Catalog, promos: PromoWeek, deals: PersonalDeals, *,
                 run: ShoppingRun, preferred_slot: np.ndarray, loyalty: np.ndarray) -> None:
        self.pairs, deal_pair = np.unique(deals.pair, return_inverse=True)
        brands = catalog.category_brands[run.category[self.pairs]]
        self.brand_depth = promos.brand_depth[run.region[self.pairs][:, None], brands]
        deal_slot = _slot_in_category(catalog)[catalog.sku_brand[deals.sku]]
        np.maximum.at(self.brand_depth, (deal_pair, deal_slot),
                      np.where(deals.seen, deals.depth_bp / 10_000, 0).astype(np.float32))
        rows = np.arange(len(self.pairs))
        own_slot = preferred_slot[self.pairs]
        own = self.brand_depth[rows, own_slot]
        others = self.brand_depth.copy()
        others[rows, own_slot] = 0
        self.depth = np.maximum(own, (1 - loyalty[self.pairs]) * others.max(axis=1))

    def line_brand_depth(self, pairs: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Overwrite the brand depths of lines whose pair has an offer."""
        position = np.minimum(np.searchsorted(self.pairs, pairs), len(self.pairs) - 1)
        hit = self.pairs[position] == pairs
        depth[hit] = self.brand_depth[position[hit]]
        return depth


def _slot_in_category(catalog: Catalog) -> np.ndarray:
    slot = np.zeros(catalog.n_brands, dtype=np.int64)
    present = catalog.category_brands >= 0
    slot[catalog.category_brands[present]] = np.nonzero(present)[1]
    return slot


class _ItemChooser:
    """Which brand and SKU a purchase of a category ends up as. The preferred brand has
    the shopper's loyalty bonus; deals pull shoppers towards them by their attention to
    deals on the shelf (which moves purchases between brands and SKUs, not whether they
    buy), and cherry-pickers to deep ones."""

    def __init__(self, run: ShoppingRun, promos: PromoWeek, deals: PersonalDeals | None,
                 personal: _PersonalView | None, *, sensitivity: np.ndarray,
                 preferred_slot: np.ndarray) -> None:
        self.run = run
        self.promos = promos
        self.deals = deals if deals is not None and len(deals.pair) else None
        self.personal = personal
        self.deal_weight = run.attention + np.float32(0.25) * sensitivity
        self.preferred_slot = preferred_slot

    def choose(self, pairs: np.ndarray, week: int, brand_stream: int,
               sku_stream: int) -> tuple[np.ndarray, np.ndarray]:
        """The SKU bought per pair, and the personal offer on it in basis points (0 when
        there is none)."""
        run = self.run
        brand = self._brand(pairs, draws.uniform(run.seed, brand_stream, week, run.flat[pairs]))
        return self._sku(pairs, brand, draws.uniform(run.seed, sku_stream, week, run.flat[pairs]))

    def _brand(self, pairs: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        run = self.run
        parameters = run.parameters
        brands = run.catalog.category_brands[run.category[pairs]]
        depth = self.promos.brand_depth[run.region[pairs][:, None], brands]
        if self.personal is not None:
            depth = self.personal.line_brand_depth(pairs, depth)
        is_preferred = np.arange(brands.shape[1]) == self.preferred_slot[pairs][:, None]
        utility = (run.brand_log_popularity[brands]
                   + run.strength[pairs][:, None] * is_preferred
                   + self.deal_weight[pairs][:, None] * _response(depth, parameters))
        _add_cherry_pull(utility, depth, run, pairs)
        slot = _inverse_cdf(utility, brands >= 0, uniform)
        return brands[np.arange(len(brands)), slot]

    def _sku(self, pairs: np.ndarray, brand: np.ndarray,
             uniform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        run = self.run
        catalog = run.catalog
        skus = catalog.brand_skus[brand]
        depth = self.promos.sku_depth[run.region[pairs][:, None], skus]
        offer_bp = None
        if self.deals is not None:
            deals = self.deals
            keys = pairs[:, None] * catalog.n_skus + skus
            position = np.minimum(np.searchsorted(deals.key, keys), len(deals.key) - 1)
            hit = (deals.key[position] == keys) & (skus >= 0)
            offer_bp = np.where(hit, deals.depth_bp[position], 0)
            seen = np.where(hit & deals.seen[position], offer_bp, 0)
            depth = np.maximum(depth, (seen / 10_000).astype(np.float32))
        utility = (run.sku_log_popularity[skus]
                   + np.float32(2) * run.attention[pairs][:, None]
                   * _response(depth, run.parameters))
        _add_cherry_pull(utility, depth, run, pairs)
        slot = _inverse_cdf(utility, skus >= 0, uniform)
        pick = np.arange(len(skus)), slot
        if offer_bp is None:
            return skus[pick], np.zeros(len(skus), dtype=np.int64)
        return skus[pick], offer_bp[pick]


def _add_cherry_pull(utility: np.ndarray, depth: np.ndarray, run: ShoppingRun,
                     pairs: np.ndarray) -> None:
    """Cherry-pickers go for the options past their threshold (only their rows are
    computed: they are few)."""
    rows = np.flatnonzero(run.cherry[pairs])
    if len(rows):
        threshold = run.cherry_threshold[pairs[rows]][:, None]
        utility[rows] += np.float32(5) * _deep(depth[rows], threshold)


def _packs(catalog: Catalog, sku: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Whole packs covering an amount of need: at least one, at most a shelf's worth."""
    packs = np.floor(amount / catalog.sku_pack_units[sku].astype(np.float32) + np.float32(0.5))
    return np.clip(packs, 1, MAX_UNITS_PER_LINE).astype(np.int64)


def _response(depth: np.ndarray, parameters: MarketParameters) -> np.ndarray:
    """Share of the full response a depth gives: diminishing returns on deep discounts."""
    return 1 - np.exp(-depth / np.float32(parameters.depth_saturation))


def _deep(depth: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """How far a depth is past a cherry-picker's threshold (a smooth step)."""
    return _sigmoid((depth - threshold) / np.float32(CHERRY_SHARPNESS))


def _inverse_cdf(utility: np.ndarray, valid: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """A multinomial-logit choice per row, made with the row's own uniform so that the
    same luck picks the same option when utilities barely change."""
    weight = np.where(valid, np.exp(utility - utility.max(axis=1, keepdims=True)), 0)
    cumulative = np.cumsum(weight, axis=1)
    chosen = (cumulative < uniform[:, None] * cumulative[:, -1:]).sum(axis=1)
    return np.minimum(chosen, valid.sum(axis=1) - 1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp overflows to inf far out, giving exactly 0
        return 1 / (1 + np.exp(-x))
