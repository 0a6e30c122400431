"""What the synthetic retailer sells and where: regions, stores, suppliers, brands, products.

Names are fixed lists of fictional companies and brands; which supplier owns which brand,
brand price tiers and popularity, prices, costs and the stores' spread over regions are
drawn from the world's seed. Everything is held as integer-indexed numpy arrays; the
string ids exist only for the files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Subcategory:
    name: str
    packs: tuple[tuple[str, int], ...]  # (pack size, mainstream shelf price in roubles)


@dataclass(frozen=True)
class CategorySpec:
    name: str
    weekly_need: float       # units of the cheapest pack a using household consumes a week
    users: float             # share of households using it, when no household trait decides
    trait: str | None        # household trait without which there is no need at all
    storable: float          # 0..1: how far a deal can be stocked up at home
    trip_weeks: float        # weeks of need a regular purchase covers
    season_peak_day: int     # day of the year when the need is highest
    season_amplitude: float  # relative swing of the need over the year
    subcategories: tuple[Subcategory, ...]
    brands: tuple[str, ...]
    variety: float = 0.1     # share of purchases that add a second SKU of the category


def _sub(name: str, *packs: tuple[str, int]) -> Subcategory:
    return Subcategory(name, packs)


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec("Молочные продукты", 3.0, 0.97, None, 0.1, 1.0, 30, 0.05, (
        _sub("Молоко", ("930 мл", 89), ("1.4 л", 125)),
        _sub("Кефир", ("900 г", 85), ("450 г", 52)),
        _sub("Йогурт", ("270 г", 55), ("4 × 125 г", 149)),
        _sub("Творог", ("200 г", 119), ("400 г", 219)),
        _sub("Сметана", ("300 г", 95), ("540 г", 159)),
    ), ("Бурёнкино", "Молочная речка", "Деревенское утро", "Заречье", "Белый луг"), variety=0.8),
    CategorySpec("Сыры", 0.6, 0.80, None, 0.3, 1.2, 350, 0.05, (
        _sub("Твёрдый сыр", ("200 г", 249), ("400 г", 459)),
        _sub("Плавленый сыр", ("150 г", 109)),
        _sub("Моцарелла", ("125 г", 179)),
    ), ("Сырный двор", "Альпийский край", "Сыроварня Кузьмича", "Моцарелло"), variety=0.2),
    CategorySpec("Мясо", 1.0, 0.85, None, 0.3, 1.0, 130, 0.10, (
        _sub("Курица", ("1 кг", 329), ("700 г", 389)),
        _sub("Свинина", ("500 г", 449)),
        _sub("Говядина", ("500 г", 649)),
        _sub("Фарш", ("400 г", 319)),
    ), ("Золотой гребешок", "Мясной двор", "Южные фермы", "Фермерское подворье"), variety=0.25),
    CategorySpec("Колбасы", 0.8, 0.75, None, 0.3, 1.2, 360, 0.08, (
        _sub("Варёная колбаса", ("400 г", 289)),
        _sub("Сосиски", ("450 г", 259), ("1 кг", 529)),
        _sub("Сырокопчёная колбаса", ("250 г", 389)),
    ), ("Дымов двор", "Колбасный цех №1", "Вкусная традиция", "Мясницкая лавка"), variety=0.25),
    CategorySpec("Хлеб", 2.0, 0.95, None, 0.0, 1.0, 1, 0.03, (
        _sub("Батон", ("400 г", 55)),
        _sub("Ржаной хлеб", ("500 г", 62)),
        _sub("Лаваш", ("250 г", 69)),
    ), ("Пекарня у дома", "Каравай-Сити", "Булочная №5"), variety=0.4),
    CategorySpec("Овощи и фрукты", 3.0, 0.95, None, 0.1, 1.0, 230, 0.15, (
        _sub("Яблоки", ("1 кг", 149)),
        _sub("Бананы", ("1 кг", 139)),
        _sub("Томаты", ("1 кг", 259)),
        _sub("Огурцы", ("1 кг", 199)),
        _sub("Картофель", ("2 кг", 119)),
    ), ("Сады Кубани", "Зелёная грядка", "Урожайное", "Фрукты мира"), variety=0.9),
    CategorySpec("Крупы", 0.35, 0.85, None, 1.0, 3.0, 15, 0.05, (
        _sub("Гречка", ("900 г", 109), ("5 × 80 г", 89)),
        _sub("Рис", ("900 г", 119), ("1.5 кг", 179)),
        _sub("Овсяные хлопья", ("500 г", 89)),
    ), ("Угодье", "Крупяной двор", "Золотое зерно", "Русская нива")),
    CategorySpec("Макароны", 0.4, 0.85, None, 1.0, 3.0, 15, 0.05, (
        _sub("Спагетти", ("450 г", 95)),
        _sub("Рожки", ("450 г", 79)),
        _sub("Лапша", ("300 г", 69)),
    ), ("Паста Либра", "Макфабрика", "Итальянский полдень")),
    CategorySpec("Соусы и специи", 0.3, 0.80, None, 1.0, 3.0, 200, 0.05, (
        _sub("Кетчуп", ("350 г", 109)),
        _sub("Майонез", ("400 мл", 119)),
        _sub("Специи", ("20 г", 59)),
    ), ("Соусный мастер", "Пряный ряд", "Домашний вкус")),
    CategorySpec("Замороженные продукты", 0.5, 0.60, None, 0.6, 2.0, 200, 0.15, (
        _sub("Пельмени", ("800 г", 319)),
        _sub("Овощные смеси", ("400 г", 179)),
        _sub("Мороженое", ("80 г", 119), ("450 г", 329)),
    ), ("Сибирская кладовая", "Морозко-Про", "Ледяной край")),
    CategorySpec("Яйца", 1.0, 0.90, None, 0.2, 1.2, 100, 0.05, (
        _sub("Яйца куриные", ("10 шт", 109), ("20 шт", 209)),
        _sub("Яйца перепелиные", ("20 шт", 129)),
    ), ("Солнечная несушка", "Деревенские яйца", "Пеструшка")),
    CategorySpec("Рыба и морепродукты", 0.4, 0.60, None, 0.5, 1.5, 60, 0.08, (
        _sub("Рыбное филе", ("400 г", 389)),
        _sub("Креветки", ("500 г", 599)),
        _sub("Рыбные консервы", ("240 г", 129)),
        _sub("Слабосолёная сёмга", ("150 г", 349)),
    ), ("Морской берег", "Балтийский улов", "Камчатка-Фиш"), variety=0.15),
    CategorySpec("Печенье и вафли", 0.6, 0.75, None, 0.7, 1.2, 350, 0.08, (
        _sub("Печенье", ("200 г", 89)),
        _sub("Вафли", ("300 г", 119)),
        _sub("Пряники", ("350 г", 109)),
    ), ("Бабушкин пряник", "Хрустящее утро", "Вафельный край", "Печеньковъ"), variety=0.25),
    CategorySpec("Кофе", 0.25, 0.65, None, 1.0, 4.0, 20, 0.08, (
        _sub("Молотый кофе", ("250 г", 449)),
        _sub("Зерновой кофе", ("1 кг", 1290)),
        _sub("Растворимый кофе", ("95 г", 379)),
        _sub("Кофе в капсулах", ("10 шт", 419)),
    ), ("Кофейная гора", "Арабика Дэй", "Утренний эспрессо", "Бразильяно")),
    CategorySpec("Чай", 0.2, 0.70, None, 1.0, 4.0, 20, 0.12, (
        _sub("Чёрный чай", ("100 пак.", 149), ("250 г", 219)),
        _sub("Зелёный чай", ("25 пак.", 169)),
        _sub("Травяной чай", ("20 пак.", 129)),
    ), ("Высокогорный", "Чайная долина", "Цейлон-Голд", "Императорский сад")),
    CategorySpec("Шоколад", 0.7, 0.80, None, 0.7, 1.2, 350, 0.10, (
        _sub("Шоколадная плитка", ("90 г", 109), ("200 г", 219)),
        _sub("Конфеты в коробке", ("200 г", 389)),
        _sub("Шоколадный батончик", ("50 г", 55)),
    ), ("Красный мишка", "Фабрика «Заря»", "Какао-Бум", "Сладкий октябрь"), variety=0.3),
    CategorySpec("Снеки", 0.8, 0.70, None, 0.7, 1.2, 190, 0.10, (
        _sub("Чипсы", ("140 г", 129), ("70 г", 79)),
        _sub("Орехи", ("150 г", 219)),
        _sub("Сухарики", ("100 г", 49)),
    ), ("Хрустим", "Орешкин", "Снэк-Тайм", "Сухарная артель"), variety=0.3),
    CategorySpec("Напитки", 1.5, 0.85, None, 0.8, 1.2, 200, 0.25, (
        _sub("Газированные напитки", ("1.5 л", 109), ("0.5 л", 69)),
        _sub("Соки", ("1 л", 139), ("2 л", 239)),
        _sub("Минеральная вода", ("1.5 л", 59), ("0.5 л", 39)),
    ), ("Живой исток", "Сочная долина", "Лимонадный рай", "Байкал-Аква"), variety=0.3),
    CategorySpec("Бытовая химия", 0.3, 0.95, None, 1.0, 4.0, 100, 0.05, (
        _sub("Средство для посуды", ("500 мл", 189)),
        _sub("Стиральный порошок", ("3 кг", 549), ("1.5 кг", 319)),
        _sub("Чистящее средство", ("750 мл", 229)),
    ), ("Чистодом", "Блеск-Про", "Свежесть", "Домовёнок")),
    CategorySpec("Средства гигиены", 0.35, 0.95, None, 1.0, 4.0, 100, 0.03, (
        _sub("Шампунь", ("400 мл", 319)),
        _sub("Зубная паста", ("100 мл", 149)),
        _sub("Мыло", ("90 г", 69)),
        _sub("Туалетная бумага", ("8 рул.", 259), ("4 рул.", 139)),
    ), ("Лесная свежесть", "Белоснежка", "Мягкий день", "Аква-Дент")),
    CategorySpec("Корм для кошек", 5.0, 0.0, "cat", 1.0, 2.0, 15, 0.03, (
        _sub("Влажный корм для кошек", ("85 г", 42)),
        _sub("Сухой корм для кошек", ("400 г", 389), ("1.5 кг", 1190)),
        _sub("Лакомства для кошек", ("60 г", 95)),
    ), ("Мурлыка", "Кисуля", "Усатый гурман", "Пушистик"), variety=0.4),
    CategorySpec("Корм для собак", 3.0, 0.0, "dog", 1.0, 2.0, 15, 0.03, (
        _sub("Влажный корм для собак", ("400 г", 75)),
        _sub("Сухой корм для собак", ("2.5 кг", 689)),
        _sub("Лакомства для собак", ("100 г", 139)),
    ), ("Верный друг", "Барбос", "Хвостик", "Псарня-Премиум")),
    CategorySpec("Детское питание", 4.0, 0.0, "baby", 0.8, 2.0, 15, 0.02, (
        _sub("Фруктовое пюре", ("100 г", 55)),
        _sub("Детская каша", ("200 г", 189)),
        _sub("Молочная смесь", ("350 г", 689)),
    ), ("Малышок", "Топотушки", "Кроха", "Агуня"), variety=0.4),
    CategorySpec("Подгузники", 0.4, 0.0, "baby", 1.0, 3.0, 15, 0.02, (
        _sub("Подгузники", ("52 шт", 989)),
        _sub("Трусики-подгузники", ("44 шт", 1189)),
        _sub("Влажные салфетки", ("64 шт", 139)),
    ), ("Сухоня", "Мягкий старт", "Кроха-Комфорт")),
)

# Region (as the retailer names it), share of the retailer's shoppers, towns with stores,
# and a relative income level that makes price sensitivity differ between regions.
REGIONS: tuple[tuple[str, float, tuple[str, ...], float], ...] = (
    ("Москва", 0.34, ("Москва", "Химки", "Мытищи", "Подольск"), 1.35),
    ("Санкт-Петербург", 0.20, ("Санкт-Петербург", "Колпино", "Пушкин"), 1.20),
    ("Казань", 0.12, ("Казань", "Зеленодольск"), 0.95),
    ("Екатеринбург", 0.12, ("Екатеринбург", "Верхняя Пышма"), 1.00),
    ("Новосибирск", 0.11, ("Новосибирск", "Бердск"), 0.90),
    ("Краснодар", 0.11, ("Краснодар", "Горячий Ключ"), 0.90),
)

STORE_FORMATS = ("hypermarket", "supermarket", "convenience")
STORE_FORMAT_SHARES = (0.15, 0.55, 0.30)
STORE_FORMAT_LABELS = ("Гипермаркет", "Супермаркет", "Магазин у дома")
# How many shoppers call a store of each format home, relative to a supermarket.
STORE_FORMAT_DRAW = (2.5, 1.0, 0.6)

STREETS = (
    "Ленина", "Мира", "Гагарина", "Советская", "Садовая", "Школьная", "Победы", "Лесная",
    "Молодёжная", "Центральная", "Строителей", "Набережная", "Пушкина", "Кирова", "Заречная",
    "Октябрьская", "Комсомольская", "Зелёная", "Полевая", "Новая",
)

# Suppliers are grouped by the categories they make; a group's brands are shared out
# among its suppliers, so every brand has exactly one supplier.
SUPPLIER_GROUPS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("Молочные продукты", "Сыры"),
     ("ООО «Молочный союз»", "АО «Северное молоко»", "ООО «Сыроварня Поволжья»",
      "ООО «Белые луга»")),
    (("Мясо", "Колбасы", "Яйца"),
     ("АО «Мясокомбинат Заречный»", "ООО «Агрохолдинг Южный»", "ООО «Деликатесы Урала»")),
    (("Хлеб",), ("АО «Хлебозавод №3»", "ООО «Пекарни Сибири»")),
    (("Овощи и фрукты",), ("ООО «Тепличный комбинат Восход»", "ООО «ФруктИмпорт»")),
    (("Крупы", "Макароны", "Соусы и специи"),
     ("ООО «Бакалея-Трейд»", "АО «Зерновая компания»", "ООО «Вкусные традиции»")),
    (("Замороженные продукты",), ("ООО «Сибирский холод»", "ООО «Айс-Продукт»")),
    (("Кофе", "Чай"),
     ("ООО «Кофе и Чай Импорт»", "ООО «Чайный дом Востока»", "АО «Обжарочная фабрика»")),
    (("Шоколад", "Снеки", "Печенье и вафли"),
     ("АО «Кондитерская фабрика Заря»", "ООО «Снэк Продакшн»", "ООО «Сладкая жизнь»")),
    (("Напитки",), ("АО «Напитки Байкала»", "ООО «Аква Плюс»")),
    (("Рыба и морепродукты",), ("ООО «Северный улов»", "АО «Дальневосточная рыбная компания»")),
    (("Бытовая химия", "Средства гигиены"),
     ("ООО «Хим-Дом»", "АО «Косметика Поволжья»", "ООО «Чистый мир»")),
    (("Корм для кошек", "Корм для собак"),
     ("ООО «Зоо Нутришн»", "ООО «Пет Фуд Русь»", "АО «Корма Черноземья»")),
    (("Детское питание", "Подгузники"), ("ООО «Бэби Фуд»", "АО «Гигиена Малыша»")),
)

# Brand price tiers: economy, mainstream, premium.
TIER_PRICE = (0.78, 1.0, 1.32)

CATEGORY_INDEX = {spec.name: index for index, spec in enumerate(CATEGORIES)}


@dataclass(frozen=True)
class Catalog:
    """Stores, suppliers, brands and SKUs. Padded lookup tables use -1 for "none"; the
    per-brand and per-SKU arrays that they index carry one extra trailing entry so that
    index -1 lands on a neutral value."""

    # stores, sorted by region
    store_ids: list[str]
    store_names: list[str]
    store_region: np.ndarray        # int64 region index
    store_city: list[str]
    store_format: np.ndarray        # int64 index into STORE_FORMATS
    region_store_first: np.ndarray  # first store of each region
    region_store_count: np.ndarray
    # suppliers
    supplier_ids: list[str]
    supplier_names: list[str]
    supplier_inns: list[str]
    # brands
    brand_names: list[str]
    brand_category: np.ndarray      # int64
    brand_supplier: np.ndarray      # int64
    brand_tier: np.ndarray          # -1 economy, 0 mainstream, +1 premium
    brand_log_popularity: np.ndarray  # float64, trailing 0 entry
    brand_promo_intensity: np.ndarray  # how often the brand's SKUs go on promo (mean 1)
    category_brands: np.ndarray     # (categories, max brands) global brand index or -1
    # SKUs
    sku_ids: list[str]
    sku_names: list[str]
    sku_brand: np.ndarray           # int64
    sku_category: np.ndarray        # int64
    sku_subcategory: list[str]
    sku_pack_size: list[str]
    regular_price_minor: np.ndarray  # int64 kopecks, trailing 0 entry
    cost_price_minor: np.ndarray     # int64 kopecks
    sku_pack_units: np.ndarray       # need units one pack covers, trailing 1 entry
    sku_log_popularity: np.ndarray   # float64, trailing 0 entry
    brand_skus: np.ndarray           # (brands, max SKUs) global SKU index or -1

    @property
    def categories(self) -> tuple[CategorySpec, ...]:
        return CATEGORIES

    @property
    def region_names(self) -> list[str]:
        return [region[0] for region in REGIONS]

    @property
    def n_skus(self) -> int:
        return len(self.sku_ids)

    @property
    def n_brands(self) -> int:
        return len(self.brand_names)


def inn_with_check_digit(first_nine: str) -> str:
    """A 10-digit legal-entity INN whose check digit is right, so importers that validate
    INNs accept the synthetic suppliers."""
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(int(digit) * weight for digit, weight in zip(first_nine, weights, strict=True))
    return first_nine + str(check % 11 % 10)


def shelf_price_minor(roubles: float) -> int:
    """A shelf price ending in 9.99 or .99 roubles, like a real price tag."""
    if roubles < 100:
        return max(round(roubles), 10) * 100 - 1
    return max(round(roubles / 10), 1) * 1000 - 1


def build_catalog(rng: np.random.Generator, *, customers: int) -> Catalog:
    stores = _build_stores(rng, customers=customers)
    suppliers, brand_supplier_by_name = _build_suppliers(rng)

    brand_names: list[str] = []
    brand_category: list[int] = []
    brand_supplier: list[int] = []
    brand_tier: list[int] = []
    for category_index, spec in enumerate(CATEGORIES):
        tiers = rng.choice([-1, 0, 0, 1], size=len(spec.brands))
        tiers[0] = 0  # every category has a mainstream leader
        for brand, tier in zip(spec.brands, tiers, strict=True):
            brand_names.append(brand)
            brand_category.append(category_index)
            brand_supplier.append(brand_supplier_by_name[(spec.name, brand)])
            brand_tier.append(int(tier))
    n_brands = len(brand_names)
    max_brands = max(len(spec.brands) for spec in CATEGORIES)
    category_brands = np.full((len(CATEGORIES), max_brands), -1, dtype=np.int64)
    for brand_index, category_index in enumerate(brand_category):
        slot = int((category_brands[category_index] >= 0).sum())
        category_brands[category_index, slot] = brand_index
    # A leader and a long tail within each category.
    brand_log_popularity = np.append(rng.normal(0.0, 0.6, n_brands), 0.0)
    for category_index in range(len(CATEGORIES)):
        brand_log_popularity[category_brands[category_index, 0]] += 0.5
    # Some brands (and categories) live on promos, others rarely go on one: so a shopper's
    # promo share says as much about their brands as about their price sensitivity.
    category_promo_intensity = rng.lognormal(0.0, 0.35, len(CATEGORIES))
    brand_promo_intensity = (rng.lognormal(0.0, 0.9, n_brands)
                             * category_promo_intensity[brand_category])
    brand_promo_intensity /= brand_promo_intensity.mean()

    sku_names: list[str] = []
    sku_brand: list[int] = []
    sku_category: list[int] = []
    sku_subcategory: list[str] = []
    sku_pack_size: list[str] = []
    regular_price: list[int] = []
    pack_units: list[float] = []
    for brand_index, brand in enumerate(brand_names):
        category_index = brand_category[brand_index]
        spec = CATEGORIES[category_index]
        cheapest_pack = min(price for sub in spec.subcategories for _, price in sub.packs)
        tier_price = TIER_PRICE[brand_tier[brand_index] + 1]
        offered = rng.random(len(spec.subcategories)) < 0.9
        offered[rng.integers(len(spec.subcategories))] = True  # at least one line per brand
        for sub, is_offered in zip(spec.subcategories, offered, strict=True):
            if not is_offered:
                continue
            for pack, base_price in sub.packs:
                roubles = base_price * tier_price * rng.uniform(0.92, 1.08)
                sku_names.append(f"{brand} {sub.name.lower()}, {pack}")
                sku_brand.append(brand_index)
                sku_category.append(category_index)
                sku_subcategory.append(sub.name)
                sku_pack_size.append(pack)
                regular_price.append(shelf_price_minor(roubles))
                pack_units.append(base_price / cheapest_pack)
    n_skus = len(sku_names)
    regular_price_minor = np.array(regular_price, dtype=np.int64)
    margin = rng.uniform(0.18, 0.38, n_skus)  # retailer's markup over its purchase price
    cost_price_minor = np.round(regular_price_minor * (1 - margin)).astype(np.int64)
    max_skus = int(np.bincount(sku_brand, minlength=n_brands).max())
    brand_skus = np.full((n_brands, max_skus), -1, dtype=np.int64)
    fill = np.zeros(n_brands, dtype=np.int64)
    for sku_index, brand_index in enumerate(sku_brand):
        brand_skus[brand_index, fill[brand_index]] = sku_index
        fill[brand_index] += 1

    return Catalog(
        store_ids=stores["ids"],
        store_names=stores["names"],
        store_region=stores["region"],
        store_city=stores["city"],
        store_format=stores["format"],
        region_store_first=stores["region_first"],
        region_store_count=stores["region_count"],
        supplier_ids=[f"S{index + 1:03d}" for index in range(len(suppliers))],
        supplier_names=suppliers,
        supplier_inns=[inn_with_check_digit(f"{digits:09d}")
                       for digits in rng.integers(100_000_000, 999_999_999, len(suppliers))],
        brand_names=brand_names,
        brand_category=np.array(brand_category, dtype=np.int64),
        brand_supplier=np.array(brand_supplier, dtype=np.int64),
        brand_tier=np.array(brand_tier, dtype=np.int64),
        brand_log_popularity=brand_log_popularity,
        brand_promo_intensity=brand_promo_intensity,
        category_brands=category_brands,
        sku_ids=[f"SKU{index + 1:05d}" for index in range(n_skus)],
        sku_names=sku_names,
        sku_brand=np.array(sku_brand, dtype=np.int64),
        sku_category=np.array(sku_category, dtype=np.int64),
        sku_subcategory=sku_subcategory,
        sku_pack_size=sku_pack_size,
        regular_price_minor=np.append(regular_price_minor, 0),
        cost_price_minor=cost_price_minor,
        sku_pack_units=np.append(np.array(pack_units), 1.0),
        sku_log_popularity=np.append(rng.normal(0.0, 0.5, n_skus), 0.0),
        brand_skus=brand_skus,
    )


def _build_stores(rng: np.random.Generator, *, customers: int) -> dict:
    n_stores = max(5, round(customers / 2000))
    n_regions = min(len(REGIONS), n_stores)
    weights = np.array([region[1] for region in REGIONS[:n_regions]])
    # Every region keeps at least one store; the rest follow the regions' weights.
    per_region = np.ones(n_regions, dtype=np.int64)
    extra = rng.multinomial(n_stores - n_regions, weights / weights.sum())
    per_region += extra
    ids, names, cities, region, formats = [], [], [], [], []
    for region_index, count in enumerate(per_region):
        towns = REGIONS[region_index][2]
        for _ in range(count):
            store_format = int(rng.choice(len(STORE_FORMATS), p=STORE_FORMAT_SHARES))
            # The capital of the region gets most stores.
            town = towns[0] if rng.random() < 0.6 else towns[rng.integers(len(towns))]
            street = STREETS[rng.integers(len(STREETS))]
            ids.append(f"ST{len(ids) + 1:03d}")
            names.append(f"{STORE_FORMAT_LABELS[store_format]}, {town}, ул. {street}, "
                         f"{rng.integers(1, 120)}")
            cities.append(town)
            region.append(region_index)
            formats.append(store_format)
    region_first = np.concatenate([[0], np.cumsum(per_region)[:-1]])
    return {
        "ids": ids, "names": names, "city": cities,
        "region": np.array(region, dtype=np.int64),
        "format": np.array(formats, dtype=np.int64),
        "region_first": _pad(region_first, len(REGIONS)),
        "region_count": _pad(per_region, len(REGIONS)),
    }


def _pad(values: np.ndarray, length: int) -> np.ndarray:
    padded = np.zeros(length, dtype=np.int64)
    padded[: len(values)] = values
    return padded


def _build_suppliers(rng: np.random.Generator) -> tuple[list[str], dict[tuple[str, str], int]]:
    names: list[str] = []
    owner: dict[tuple[str, str], int] = {}
    for categories, group in SUPPLIER_GROUPS:
        first = len(names)
        names.extend(group)
        turn = int(rng.integers(len(group)))
        for category in categories:
            for brand in CATEGORIES[CATEGORY_INDEX[category]].brands:
                owner[(category, brand)] = first + turn % len(group)
                turn += 1
    return names, owner
