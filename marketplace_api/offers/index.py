"""Each API worker's in-memory offer index: a shopper's offers are a dictionary lookup and
a few array slices, with no database or Redis round trip on the request path.

- Offers (fixed at launch) sit in columnar arrays sorted by shopper, then by predicted
  purchase probability (highest first), with a dictionary shopper → row range. A newly
  launched campaign's offers are read once and merged into new arrays that replace the
  old ones in one assignment (readers never see half an update).
- Campaign states (status, period, stores and regions, budget left) are re-read from the
  database every OFFERS_REFRESH_SECONDS, and at once when the bus says a campaign changed:
  a pause, a stop, an ended period or an exhausted budget hides the offers on every worker
  within that time.
- Shoppers' usage (activated, this week's units used) comes with the bus's `usage`
  messages, and is re-read for rows changed since the last refresh as a safety net.

Redis itself as the store (one HGETALL per request) was measured slower: see
bench/RESULTS.md.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from core.settings import get_settings
from marketplace_api.offers import bus

log = logging.getLogger(__name__)

WEEK_SECONDS = 7 * 86_400
SERVED_STATUSES = ("scheduled", "active", "paused")


@dataclass(frozen=True, slots=True)
class CampaignState:
    id: int
    status: str
    starts_at: float
    ends_at: float
    valid_until: str
    store_ids: frozenset[str] | None
    regions: frozenset[str] | None
    automatic: bool
    limit: int
    budget_left_minor: int

    def live(self, now: float) -> bool:
        return self.status == "active" and self.starts_at <= now < self.ends_at

    def serves(self, store_id: str | None, region: str | None) -> bool:
        if store_id is None or (not self.store_ids and not self.regions):
            return True
        return bool((self.store_ids and store_id in self.store_ids)
                    or (self.regions and region in self.regions))

    def week(self, now: float) -> int:
        return max(0, int((now - self.starts_at) // WEEK_SECONDS))


@dataclass(slots=True)
class Usage:
    week: int
    units_used: int
    open: bool
    activated: bool
    at: float


@dataclass(frozen=True)
class OfferTable:
    """Every loaded offer, sorted by shopper then by p_buy (descending)."""

    rows: dict[str, tuple[int, int]]
    offer_id: np.ndarray
    campaign_id: np.ndarray
    sku: np.ndarray          # object, one shared string per SKU
    discount_bp: np.ndarray
    regular: np.ndarray
    personal: np.ndarray
    p_buy: np.ndarray

    @classmethod
    def empty(cls) -> OfferTable:
        return cls.from_frame(_EMPTY.copy())

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> OfferTable:
        codes, customers = pd.factorize(frame["customer_id"], sort=False)
        p_buy = frame["p_buy"].to_numpy(np.float64)
        # Unknown chances rank last; then by offer id, so the order is stable.
        order = np.lexsort((frame["offer_id"].to_numpy(np.int64),
                            np.where(np.isnan(p_buy), np.inf, -p_buy), codes))
        codes = codes[order]
        rows: dict[str, tuple[int, int]] = {}
        if len(codes):
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
            ends = np.r_[starts[1:], len(codes)]
            names = np.asarray(customers, dtype=object)[codes[starts]]
            rows = dict(zip(names.tolist(), zip(starts.tolist(), ends.tolist(), strict=True),
                            strict=True))

        def column(name: str, dtype) -> np.ndarray:
            return frame[name].to_numpy(dtype)[order]

        sku_codes, sku_names = pd.factorize(frame["sku"], sort=False)
        skus = np.asarray(sku_names, dtype=object)
        return cls(rows=rows, offer_id=column("offer_id", np.int64),
                   campaign_id=column("campaign_id", np.int64),
                   sku=skus[sku_codes[order]] if len(skus) else np.empty(0, dtype=object),
                   discount_bp=column("discount_bp", np.int64),
                   regular=column("regular_price_minor", np.int64),
                   personal=column("personal_price_minor", np.int64),
                   p_buy=p_buy[order])

    def frame(self) -> pd.DataFrame:
        customer = np.empty(len(self.offer_id), dtype=object)
        for customer_id, (start, end) in self.rows.items():
            customer[start:end] = customer_id
        return pd.DataFrame({"offer_id": self.offer_id, "campaign_id": self.campaign_id,
                             "customer_id": customer, "sku": self.sku,
                             "discount_bp": self.discount_bp, "regular_price_minor": self.regular,
                             "personal_price_minor": self.personal, "p_buy": self.p_buy})


_COLUMNS = ["offer_id", "campaign_id", "customer_id", "sku", "discount_bp",
            "regular_price_minor", "personal_price_minor", "p_buy"]
_EMPTY = pd.DataFrame({name: pd.Series(dtype=object if name in ("customer_id", "sku")
                                        else np.float64 if name == "p_buy" else np.int64)
                       for name in _COLUMNS})


@dataclass(frozen=True, slots=True)
class ServedOffer:
    """One offer to show, with what the app needs to display it."""

    offer_id: int
    campaign: CampaignState
    sku: str
    discount_bp: int
    regular_minor: int
    personal_minor: int
    units_left: int
    activated: bool
    authorised: bool       # this week's allowance exists (its money is set aside)


@dataclass
class Catalogue:
    products: dict[str, tuple[str, str | None, str | None, str]] = field(default_factory=dict)
    store_regions: dict[str, str | None] = field(default_factory=dict)


class OfferIndex:
    """The worker's index. `start()` loads it and starts the refresher (and, with Redis,
    the subscriber); `serve()` answers a shopper's offers from memory."""

    def __init__(self, engine: Engine, *, redis_url: str | None = None,
                 refresh_seconds: float | None = None) -> None:
        self.engine = engine
        self.redis_url = redis_url
        self.refresh_seconds = refresh_seconds or get_settings().offers_refresh_seconds
        self.table = OfferTable.empty()
        self.loaded: frozenset[int] = frozenset()  # campaigns whose offers are in the table
        self.states: dict[int, CampaignState] = {}
        self.usage: dict[str, dict[int, Usage]] = {}
        self.catalogue = Catalogue()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._load_lock = threading.Lock()
        self._usage_since = 0.0
        self._pubsub = None

    # --- life ---

    def start(self) -> OfferIndex:
        self.refresh(full=True)
        bus.subscribe_local(self.apply)
        self._threads.append(threading.Thread(target=self._refresher, name="offers-refresh",
                                              daemon=True))
        if self.redis_url:
            self._threads.append(threading.Thread(target=self._subscriber,
                                                  name="offers-subscriber", daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        bus.unsubscribe_local(self.apply)
        self._stop.set()
        self._wake.set()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._pubsub.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _refresher(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.refresh_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.refresh()
            except Exception:
                log.exception("offer index refresh failed; serving the last state")

    def _subscriber(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2,
                                      health_check_interval=10)
        first = True
        while not self._stop.is_set():
            try:
                self._pubsub = client.pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(bus.CHANNEL)
                if not first:  # usage news may have been missed while disconnected
                    self._usage_since = 0.0
                    self._wake.set()
                first = False
                while not self._stop.is_set():
                    message = self._pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        self.apply(json.loads(message["data"]))
            except Exception:
                if self._stop.is_set():
                    return
                log.warning("offer news subscription lost; reconnecting", exc_info=True)
                time.sleep(0.5)

    # --- news ---

    def apply(self, message: dict[str, Any]) -> None:
        kind = message.get("kind")
        if kind == "campaign":
            self._wake.set()  # the refresher re-reads states (and loads new offers) now
        elif kind == "usage":
            self._set_usage(message["customer_id"], int(message["offer_id"]),
                            Usage(week=int(message["week"]), units_used=int(message["units_used"]),
                                  open=bool(message["open"]),
                                  activated=bool(message["activated"]),
                                  at=float(message.get("at", time.time()))))

    def _set_usage(self, customer_id: str, offer_id: int, usage: Usage) -> None:
        mine = self.usage.setdefault(customer_id, {})
        current = mine.get(offer_id)
        if current is not None and (current.week > usage.week or (current.at > usage.at
                                    and current.week == usage.week)):
            usage = Usage(week=current.week, units_used=current.units_used, open=current.open,
                          activated=current.activated or usage.activated, at=current.at)
        elif current is not None:
            usage.activated = usage.activated or current.activated
        mine[offer_id] = usage

    # --- reading the database ---

    def refresh(self, *, full: bool = False) -> None:
        with self._load_lock:
            started = time.time()
            with self.engine.connect() as connection:
                states = _read_states(connection)
                wanted = {cid for cid, s in states.items() if s.status in SERVED_STATUSES}
                ready = _offer_sets(connection, wanted)
                missing = ready - self.loaded
                gone = self.loaded - wanted
                if missing or gone or full:
                    keep = set() if full else (self.loaded & wanted)
                    add = ready if full else missing
                    self._load_offers(connection, keep=keep, add=add)
                    self.loaded = frozenset(keep | add)
                    self.catalogue.store_regions = _read_stores(connection)
                since = 0.0 if full else self._usage_since - 5.0
                self._read_usage(connection, campaigns=self.loaded, since=since)
            self.states = states
            self._usage_since = started

    def _load_offers(self, connection, *, keep: set[int], add: set[int]) -> None:
        parts = []
        if keep:
            old = self.table.frame()
            parts.append(old[old["campaign_id"].isin(list(keep))])
        if add:
            parts.append(_read_offers(connection, add))
        frame = pd.concat(parts, ignore_index=True) if parts else _EMPTY.copy()
        skus = set(frame["sku"].unique().tolist()) - set(self.catalogue.products)
        if skus:
            self.catalogue.products.update(_read_products(connection, skus))
        self.table = OfferTable.from_frame(frame)
        if add:
            log.info("offer index: %d offers of %d campaigns", len(frame),
                     len(keep | add))

    def _read_usage(self, connection, *, campaigns: Iterable[int], since: float) -> None:
        ids = sorted(campaigns)
        if not ids:
            return
        moment: Any = datetime.fromtimestamp(since, UTC)
        if connection.dialect.name == "sqlite":  # compared as text, as SQLAlchemy stores it
            moment = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        in_ids = ", ".join(str(int(i)) for i in ids)
        for customer_id, offer_id in connection.execute(text(
                f"SELECT customer_id, offer_id FROM offers_activation "
                f"WHERE campaign_id IN ({in_ids}) AND activated_at >= :since"),
                {"since": moment}):
            mine = self.usage.setdefault(customer_id, {})
            current = mine.get(offer_id)
            if current is None:
                mine[offer_id] = Usage(week=-1, units_used=0, open=False, activated=True,
                                       at=0.0)
            else:
                current.activated = True
        for customer_id, offer_id, week, used, status, at in connection.execute(text(
                f"SELECT customer_id, offer_id, week, units_used, status, updated_at "
                f"FROM offers_allowance WHERE campaign_id IN ({in_ids}) "
                f"AND updated_at >= :since ORDER BY week"), {"since": moment}):
            stamp = _epoch(at)
            activated = bool(self.usage.get(customer_id, {}).get(offer_id)
                             and self.usage[customer_id][offer_id].activated)
            self._set_usage(customer_id, offer_id,
                            Usage(week=week, units_used=used, open=status == "open",
                                  activated=activated, at=stamp))

    # --- serving ---

    def serve(self, customer_id: str, *, store_id: str | None, now: float | None = None
              ) -> list[ServedOffer]:
        """The shopper's live offers, best first: in period, active, for this store,
        covered by the budget (or already authorised), with units left this week."""
        table = self.table
        span = table.rows.get(customer_id)
        if span is None:
            return []
        now = time.time() if now is None else now
        states = self.states
        region = self.catalogue.store_regions.get(store_id) if store_id else None
        mine = self.usage.get(customer_id, {})
        start, end = span
        out = []
        for offer_id, campaign_id, sku, depth, regular, personal in zip(
                table.offer_id[start:end].tolist(), table.campaign_id[start:end].tolist(),
                table.sku[start:end].tolist(), table.discount_bp[start:end].tolist(),
                table.regular[start:end].tolist(), table.personal[start:end].tolist(),
                strict=True):
            state = states.get(campaign_id)
            if state is None or not state.live(now) or not state.serves(store_id, region):
                continue
            week = state.week(now)
            usage = mine.get(offer_id)
            used, authorised, activated = 0, False, False
            if usage is not None:
                activated = usage.activated
                if usage.week == week:
                    used, authorised = usage.units_used, usage.open
                    if not usage.open and used < state.limit:
                        continue  # released early (rejected by antifraud): nothing left
            left = state.limit - used
            if left <= 0:
                continue
            if not authorised and state.budget_left_minor < state.limit * (regular - personal):
                continue
            out.append(ServedOffer(offer_id=offer_id, campaign=state, sku=sku,
                                   discount_bp=depth, regular_minor=regular,
                                   personal_minor=personal, units_left=left,
                                   activated=activated or False, authorised=authorised))
        return out

    def product(self, sku: str) -> tuple[str, str | None, str | None, str]:
        return self.catalogue.products.get(sku, (sku, None, None, "RUB"))


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return _epoch(parsed)
    return float(value)


def _json_list(value: Any) -> list | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = json.loads(value)
    return list(value) if value else None


def _read_states(connection) -> dict[int, CampaignState]:
    rows = connection.execute(text(
        "SELECT id, status, starts_at, ends_at, store_ids, regions, activation_mode, "
        "limit_units_per_week FROM campaigns_campaign WHERE status IN "
        "('scheduled', 'active', 'paused')")).all()
    if not rows:
        return {}
    ids = ", ".join(f"'{int(r.id)}'" for r in rows)
    budgets = dict(connection.execute(text(
        "SELECT a.campaign_id, COALESCE(SUM(b.balance_minor), 0) FROM billing_account a "
        "JOIN billing_balance b ON b.account_id = a.id "
        f"WHERE a.kind = 'budget' AND a.campaign_id IN ({ids}) GROUP BY a.campaign_id")).all())
    states = {}
    for r in rows:
        ends = _epoch(r.ends_at)
        stores, regions = _json_list(r.store_ids), _json_list(r.regions)
        states[int(r.id)] = CampaignState(
            id=int(r.id), status=str(r.status), starts_at=_epoch(r.starts_at), ends_at=ends,
            valid_until=datetime.fromtimestamp(ends, UTC).isoformat(),
            store_ids=frozenset(stores) if stores else None,
            regions=frozenset(regions) if regions else None,
            automatic=str(r.activation_mode) == "automatic", limit=int(r.limit_units_per_week),
            budget_left_minor=int(budgets.get(str(r.id), 0)))
    return states


def _offer_sets(connection, wanted: set[int]) -> set[int]:
    if not wanted:
        return set()
    ids = ", ".join(str(int(i)) for i in wanted)
    return {int(r[0]) for r in connection.execute(text(
        f"SELECT campaign_id FROM offers_offer_set WHERE campaign_id IN ({ids})"))}


_OFFER_SELECT = ("SELECT id AS offer_id, campaign_id, customer_id, sku, discount_bp, "
                 "regular_price_minor, personal_price_minor, p_buy FROM offers_offer "
                 "WHERE campaign_id IN ({ids})")


def _read_offers(connection, campaign_ids: set[int]) -> pd.DataFrame:
    ids = ", ".join(str(int(i)) for i in sorted(campaign_ids))
    query = _OFFER_SELECT.format(ids=ids)
    if connection.dialect.name == "postgresql":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        raw = connection.connection.driver_connection
        buffer = io.BytesIO()
        with raw.cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
            for chunk in copy:
                buffer.write(chunk)
        buffer.seek(0)
        types = {"offer_id": pa.int64(), "campaign_id": pa.int64(), "customer_id": pa.string(),
                 "sku": pa.string(), "discount_bp": pa.int64(),
                 "regular_price_minor": pa.int64(), "personal_price_minor": pa.int64(),
                 "p_buy": pa.float64()}
        table = pacsv.read_csv(buffer, read_options=pacsv.ReadOptions(column_names=_COLUMNS),
                               convert_options=pacsv.ConvertOptions(column_types=types))
        frame = table.to_pandas()
    else:
        frame = pd.read_sql(text(query), connection)
    if frame.empty:
        return _EMPTY.copy()
    frame["p_buy"] = frame["p_buy"].astype(np.float64)
    return frame[_COLUMNS]


def _read_products(connection, skus: set[str]) -> dict[str, tuple[str, str | None,
                                                                 str | None, str]]:
    out = {}
    listed = sorted(skus)
    for start in range(0, len(listed), 1000):
        chunk = listed[start:start + 1000]
        marks = ", ".join(f":s{i}" for i in range(len(chunk)))
        for sku, name, brand, supplier, currency in connection.execute(text(
                "SELECT p.sku, p.name, p.brand, s.name, p.currency FROM retail_product p "
                "LEFT JOIN retail_supplier s ON s.supplier_id = p.supplier_id "
                f"WHERE p.sku IN ({marks})"), {f"s{i}": v for i, v in enumerate(chunk)}):
            out[sku] = (name, brand, supplier, currency)
    return out


def _read_stores(connection) -> dict[str, str | None]:
    return dict(connection.execute(text("SELECT store_id, region FROM retail_store")).all())


# --- the process's index ---------------------------------------------------------------------

_current: OfferIndex | None = None
_current_lock = threading.Lock()


def current() -> OfferIndex:
    """This process's index, started on first use (the app's lifespan starts it early)."""
    global _current
    if _current is None:
        with _current_lock:
            if _current is None:
                from core.db import get_engine

                settings = get_settings()
                _current = OfferIndex(get_engine(), redis_url=settings.redis_url).start()
    return _current


def stop_current() -> None:
    global _current
    with _current_lock:
        if _current is not None:
            _current.stop()
            _current = None
