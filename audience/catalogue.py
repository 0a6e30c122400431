"""The field catalogue: every shopper feature a segment rule may name, with its type, the
operators that fit the type, its unit, and a label and description in Russian and English.

Fields come in three kinds: the base features every build computes (`BASE_FIELDS`), fields
a build derives from the retailer's data (a spend share per category, one yes/no field per
trait rule), and score fields that `pricing_ai` publishes (`score_field`). The snapshot
adds what only the data knows: the allowed values of enums and sets, and a typical range.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any


class FieldType(enum.StrEnum):
    number = "number"   # a measurement; missing values match no condition
    money = "money"     # integer minor units (kopecks) of the retailer's currency
    enum = "enum"       # one of a known list of values
    bool = "bool"       # yes or no; unknown matches neither
    set = "set"         # several of a known list of values (stores visited, brands)


class Op(enum.StrEnum):
    eq = "eq"
    in_ = "in"
    between = "between"
    gte = "gte"
    lte = "lte"
    contains_any = "contains_any"
    contains_all = "contains_all"


OPS_BY_TYPE: dict[FieldType, tuple[Op, ...]] = {
    FieldType.number: (Op.eq, Op.gte, Op.lte, Op.between),
    FieldType.money: (Op.eq, Op.gte, Op.lte, Op.between),
    FieldType.enum: (Op.eq, Op.in_),
    FieldType.bool: (Op.eq,),
    FieldType.set: (Op.contains_any, Op.contains_all),
}


@dataclass(frozen=True)
class FieldSpec:
    """A field as a rule names it. `bounds` is the natural domain where there is one
    (0–100 for a percentage); the snapshot suggests an upper end where there is none."""

    name: str
    type: FieldType
    label_ru: str
    label_en: str
    description_ru: str
    description_en: str
    unit: str | None = None
    group: str = "behaviour"
    bounds: tuple[float | None, float | None] = (None, None)
    integer: bool = False  # values are whole numbers (counts, days, kopecks)

    @property
    def ops(self) -> tuple[Op, ...]:
        return OPS_BY_TYPE[self.type]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = self.type.value
        data["bounds"] = list(self.bounds)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldSpec:
        values = dict(data)
        values["type"] = FieldType(values["type"])
        values["bounds"] = tuple(values.get("bounds") or (None, None))
        return cls(**values)


def _number(name: str, ru: str, en: str, desc_ru: str, desc_en: str, *, unit: str | None,
            group: str, bounds=(0, None), integer: bool = False) -> FieldSpec:
    return FieldSpec(name, FieldType.number, ru, en, desc_ru, desc_en, unit=unit, group=group,
                     bounds=bounds, integer=integer)


def _money(name: str, ru: str, en: str, desc_ru: str, desc_en: str, *, group: str = "spend",
           bounds=(0, None)) -> FieldSpec:
    return FieldSpec(name, FieldType.money, ru, en, desc_ru, desc_en, unit="kopeck",
                     group=group, bounds=bounds, integer=True)


WINDOW_NOTE_RU = "за окно расчёта признаков"
WINDOW_NOTE_EN = "over the feature window"

BASE_FIELDS: tuple[FieldSpec, ...] = (
    _number("visits_per_week", "Покупок в неделю", "Visits per week",
            f"Среднее число чеков в неделю {WINDOW_NOTE_RU}.",
            f"Receipts per week on average {WINDOW_NOTE_EN}.",
            unit="per_week", group="behaviour"),
    _number("recency_days", "Дней с последней покупки", "Days since last visit",
            "Сколько дней прошло с последнего чека; пусто, если покупок в окне не было.",
            "Days since the last receipt; empty when there was none in the window.",
            unit="day", group="behaviour", integer=True),
    _money("avg_check_minor", "Средний чек", "Average check",
           f"Средняя сумма чека {WINDOW_NOTE_RU}, в копейках.",
           f"Average receipt total {WINDOW_NOTE_EN}, in kopecks."),
    _money("total_spend_minor", "Сумма покупок", "Total spend",
           f"Сколько покупатель потратил {WINDOW_NOTE_RU}, в копейках.",
           f"What the shopper spent {WINDOW_NOTE_EN}, in kopecks."),
    _money("margin_minor", "Принесённая маржа", "Margin contributed",
           "Выручка минус себестоимость по товарам с известной себестоимостью, в копейках.",
           "Revenue minus cost over products whose cost is known, in kopecks.",
           bounds=(None, None)),
    _number("categories_count", "Число категорий", "Categories bought",
            f"Сколько разных категорий покупатель купил {WINDOW_NOTE_RU}.",
            f"How many different categories the shopper bought {WINDOW_NOTE_EN}.",
            unit="count", group="categories", integer=True),
    FieldSpec("categories", FieldType.set, "Покупал категории", "Categories bought",
              f"Категории, которые покупатель покупал {WINDOW_NOTE_RU}.",
              f"Categories the shopper bought {WINDOW_NOTE_EN}.", group="categories"),
    FieldSpec("stores", FieldType.set, "Посещал магазины", "Stores visited",
              f"Магазины, где у покупателя были чеки {WINDOW_NOTE_RU}.",
              f"Stores where the shopper had receipts {WINDOW_NOTE_EN}.", group="stores"),
    _number("stores_count", "Число магазинов", "Stores visited (count)",
            f"В скольких разных магазинах покупатель делал покупки {WINDOW_NOTE_RU}.",
            f"In how many different stores the shopper bought {WINDOW_NOTE_EN}.",
            unit="count", group="stores", integer=True),
    FieldSpec("home_store", FieldType.enum, "Основной магазин", "Home store",
              "Магазин, где у покупателя больше всего чеков.",
              "The store where the shopper has the most receipts.", group="stores"),
    FieldSpec("favourite_brands", FieldType.set, "Любимые бренды", "Favourite brands",
              "Три бренда, на которые покупатель потратил больше всего.",
              "The three brands the shopper spent most on.", group="brands"),
    _number("promo_share", "Доля покупок по акции", "Share bought on promotion",
            "Доля купленных единиц товара, купленных со скидкой или по акции, в процентах.",
            "Share of units bought on a discount or promotion, in percent.",
            unit="percent", group="promo", bounds=(0, 100)),
    _number("discount_depth", "Средняя глубина скидки", "Average discount depth",
            "Средняя скидка в покупках со скидкой, в процентах от полной цены.",
            "Average discount on discounted purchases, in percent of the full price.",
            unit="percent", group="promo", bounds=(0, 100)),
    FieldSpec("region", FieldType.enum, "Регион", "Region",
              "Регион покупателя (из анкеты, иначе регион основного магазина).",
              "The shopper's region (from the profile, else the home store's region).",
              group="profile"),
    FieldSpec("has_app", FieldType.bool, "Пользуется приложением", "App user",
              "Установлено ли у покупателя приложение ритейлера.",
              "Whether the shopper has the retailer's app.", group="profile"),
    FieldSpec("loyalty_tier", FieldType.enum, "Уровень программы лояльности", "Loyalty tier",
              "Уровень покупателя в программе лояльности.",
              "The shopper's tier in the loyalty programme.", group="profile"),
    _number("age", "Возраст", "Age",
            "Возраст в годах по году рождения, если он известен.",
            "Age in years from the birth year, where known.",
            unit="year", group="profile", integer=True),
    FieldSpec("gender", FieldType.enum, "Пол", "Gender",
              "Пол из анкеты, если известен.", "Gender from the profile, where known.",
              group="profile"),
)

BASE_FIELD_NAMES = frozenset(spec.name for spec in BASE_FIELDS)

CATEGORY_SHARE_PREFIX = "category_share:"


def category_share_field(category: str) -> FieldSpec:
    return _number(
        f"{CATEGORY_SHARE_PREFIX}{category}", f"Доля трат: {category}",
        f"Spend share: {category}",
        f"Доля категории «{category}» в покупках {WINDOW_NOTE_RU}, в процентах.",
        f"Share of «{category}» in the shopper's spend {WINDOW_NOTE_EN}, in percent.",
        unit="percent", group="categories", bounds=(0, 100))


def trait_field(name: str, *, label_ru: str, label_en: str, description_ru: str,
                description_en: str) -> FieldSpec:
    return FieldSpec(name, FieldType.bool, label_ru, label_en, description_ru,
                     description_en, group="traits")


# Labels for the scores pricing_ai publishes; a publisher may pass its own instead.
KNOWN_SCORES: dict[str, dict[str, Any]] = {
    "price_sensitivity": dict(
        label_ru="Чувствительность к цене", label_en="Price sensitivity",
        description_ru="Насколько покупатель откликается на цену, от 0 до 1: рост вероятности "
                       "покупки со скидкой (модель pricing_ai), отклик на промо сети, "
                       "нелояльность брендам и выбор дешёвых брендов.",
        description_en="How much price moves the shopper, 0 to 1: how much a discount raises "
                       "the chance of buying (pricing_ai model), response to the retailer's "
                       "promos, low brand loyalty and a choice of cheaper brands.",
        unit="score", bounds=(0, 1)),
    "cherry_picker_score": dict(
        label_ru="Охотник за скидками", label_en="Cherry-picker score",
        description_ru="Вероятность, что покупатель берёт категорию только с большой скидкой.",
        description_en="Probability that the shopper buys only on deep discount.",
        unit="probability", bounds=(0, 1)),
    "share_of_wallet_gap": dict(
        label_ru="Недобор доли кошелька", label_en="Share-of-wallet gap",
        description_ru="Сколько покупатель, по оценке, тратит на категорию у конкурентов, "
                       "в копейках.",
        description_en="Estimated spend the shopper takes to competitors, in kopecks.",
        unit="kopeck", bounds=(None, None)),
}


def score_field(name: str, **given: Any) -> FieldSpec:
    """A numeric score column published by another domain, labelled from `KNOWN_SCORES`
    unless the publisher says otherwise."""
    meta = {"label_ru": name, "label_en": name, "description_ru": "", "description_en": "",
            "unit": "score", "bounds": (None, None)}
    meta.update(KNOWN_SCORES.get(name, {}))
    meta.update({key: value for key, value in given.items() if value is not None})
    return FieldSpec(name, FieldType.number, meta["label_ru"], meta["label_en"],
                     meta["description_ru"], meta["description_en"], unit=meta["unit"],
                     group="scores", bounds=tuple(meta["bounds"]))


@dataclass(frozen=True)
class CatalogueField:
    """A field as the UI sees it: the spec plus what the current data says."""

    spec: FieldSpec
    values: tuple[tuple[str, str], ...] | None = None  # (value, label) for enums and sets
    typical_max: float | None = None  # the 99th percentile, rounded up: a slider's end

    @cached_property
    def allowed(self) -> frozenset[str] | None:
        if self.values is None:
            return None
        return frozenset(value for value, _label in self.values)

    def to_json(self) -> dict[str, Any]:
        spec = self.spec
        low, high = spec.bounds
        if high is None and self.typical_max is not None:
            high = self.typical_max
        data: dict[str, Any] = {
            "name": spec.name, "type": spec.type.value, "ops": [op.value for op in spec.ops],
            "unit": spec.unit, "group": spec.group, "integer": spec.integer,
            "label": {"ru": spec.label_ru, "en": spec.label_en},
            "description": {"ru": spec.description_ru, "en": spec.description_en},
            "values": None, "range": None,
        }
        if self.values is not None:
            data["values"] = [{"value": value, "label": label} for value, label in self.values]
        elif spec.type is FieldType.bool:
            data["values"] = [{"value": True, "label": "да / yes"},
                              {"value": False, "label": "нет / no"}]
        if spec.type in (FieldType.number, FieldType.money):
            data["range"] = {"min": low, "max": high, "typical_max": self.typical_max}
        return data


@dataclass(frozen=True)
class Catalogue:
    """The fields a rule may name right now. Without data (no build yet) enums and sets
    have no known values, and any value is accepted."""

    fields: dict[str, CatalogueField] = field(default_factory=dict)

    def get(self, name: str) -> CatalogueField | None:
        return self.fields.get(name)

    def allowed_values(self, name: str) -> frozenset[str] | None:
        entry = self.fields.get(name)
        return None if entry is None else entry.allowed

    def to_json(self) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in self.fields.values()]

    @classmethod
    def static(cls) -> Catalogue:
        return cls({spec.name: CatalogueField(spec) for spec in BASE_FIELDS})
