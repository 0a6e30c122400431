"""The shopping calendar: yearly seasons, Russian holidays and the shape of a week.

Everything here is a pure function of the date, so any week — also one after the
simulated history — has the same season whenever it is simulated.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from retail.simulator.catalog import CATEGORIES, CATEGORY_INDEX

# Holiday, and how much more of a category households use in the days before it.
HOLIDAYS: tuple[tuple[int, int, dict[str, float]], ...] = (
    (12, 31, {"Шоколад": 0.6, "Напитки": 0.5, "Снеки": 0.4, "Мясо": 0.3, "Колбасы": 0.5,
              "Сыры": 0.4, "Овощи и фрукты": 0.2, "Чай": 0.15, "Кофе": 0.1,
              "Рыба и морепродукты": 0.4, "Печенье и вафли": 0.3, "Яйца": 0.2}),
    (2, 14, {"Шоколад": 0.3}),
    (2, 23, {"Напитки": 0.2, "Снеки": 0.2, "Колбасы": 0.15, "Шоколад": 0.1}),
    (3, 8, {"Шоколад": 0.5, "Напитки": 0.15, "Сыры": 0.1}),
    (5, 1, {"Мясо": 0.4, "Колбасы": 0.25, "Напитки": 0.3, "Снеки": 0.2, "Овощи и фрукты": 0.1}),
    (5, 9, {"Мясо": 0.3, "Напитки": 0.2, "Снеки": 0.1}),
)
SHOPPING_DAYS_BEFORE_HOLIDAY = 6

# Monday..Sunday: the weekend is busier.
DAY_WEIGHTS = np.array([0.12, 0.12, 0.13, 0.14, 0.17, 0.18, 0.14])
# Hours 7..22: a lunch bump and the evening peak after work.
HOUR_WEIGHTS = np.array([1, 2, 3, 4, 5, 6, 6, 5, 5, 6, 8, 10, 10, 8, 5, 2], dtype=float)
FIRST_HOUR = 7


def week_start(start: date, week: int) -> date:
    return start + timedelta(weeks=week)


def category_season(start: date, week: int) -> np.ndarray:
    """Multiplier of each category's weekly use at home in this week (float32, per
    category): the yearly cycle, and more eaten and drunk around holidays."""
    first_day = week_start(start, week)
    middle = first_day + timedelta(days=3)
    day_of_year = middle.timetuple().tm_yday
    season = np.array([
        1 + spec.season_amplitude * np.cos(2 * np.pi * (day_of_year - spec.season_peak_day)
                                           / 365.25)
        for spec in CATEGORIES
    ])
    return (season + holiday_shopping(start, week)).astype(np.float32)


def holiday_shopping(start: date, week: int) -> np.ndarray:
    """How much more of each category households buy for a holiday this week (float32,
    0 in an ordinary week): they shop for the table in the days before it."""
    first_day = week_start(start, week)
    boost = np.zeros(len(CATEGORIES))
    for month, day, boosts in HOLIDAYS:
        overlap = _days_before_holiday_in_week(first_day, month, day)
        for category, extra in boosts.items():
            boost[CATEGORY_INDEX[category]] += extra * overlap
    return boost.astype(np.float32)


def visit_season(start: date, week: int) -> float:
    """Multiplier of visit rates: busy before New Year, quiet in the January holidays
    and in summer when many families are at the dacha."""
    first_day = week_start(start, week)
    day_of_year = (first_day + timedelta(days=3)).timetuple().tm_yday
    factor = 1 - 0.06 * np.cos(2 * np.pi * (day_of_year - 200) / 365.25)
    factor += 0.12 * _days_before_holiday_in_week(first_day, 12, 31)
    january_holidays = sum(
        1 for offset in range(7)
        if (d := first_day + timedelta(days=offset)).month == 1 and d.day <= 8)
    factor -= 0.15 * january_holidays / 7
    return float(factor)


def _days_before_holiday_in_week(first_day: date, month: int, day: int) -> float:
    """Share of the shopping days before a holiday that fall into this week."""
    days = 0
    for offset in range(7):
        current = first_day + timedelta(days=offset)
        holiday = date(current.year, month, day)
        if holiday < current:
            holiday = date(current.year + 1, month, day)
        if (holiday - current).days < SHOPPING_DAYS_BEFORE_HOLIDAY:
            days += 1
    return days / SHOPPING_DAYS_BEFORE_HOLIDAY
