"""Money: integer minor units with a currency code. No float ever touches an amount."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Larger than any real amount, and far inside a signed 64-bit column.
MAX_MINOR = 10**17

# Minor units per major unit, ISO 4217 exponents for the currencies we accept.
CURRENCY_EXPONENTS = {"RUB": 2, "USD": 2, "EUR": 2, "KZT": 2, "BYN": 2}


class MoneyError(ValueError):
    """An amount that cannot be money: not a number, too many decimals, unknown currency."""


def check_currency(currency: str) -> str:
    if currency not in CURRENCY_EXPONENTS:
        raise MoneyError(f"unknown currency {currency!r}; accepted: {sorted(CURRENCY_EXPONENTS)}")
    return currency


def to_minor(text: str | int | Decimal, currency: str = "RUB") -> int:
    """'123.45' roubles -> 12345 kopecks. Rejects floats and sub-kopeck precision."""
    if isinstance(text, float):
        raise MoneyError("money must not be given as a float")
    exponent = CURRENCY_EXPONENTS[check_currency(currency)]
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise MoneyError(f"not a decimal amount: {text!r}") from exc
    if not value.is_finite() or value.adjusted() > 20:
        raise MoneyError(f"not a finite amount in range: {text!r}")
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"more than {exponent} decimals: {text!r}")
    if abs(scaled) > MAX_MINOR:
        raise MoneyError(f"amount out of range: {text!r}")
    return int(scaled)


def from_minor(amount_minor: int, currency: str = "RUB") -> Decimal:
    return Decimal(amount_minor).scaleb(-CURRENCY_EXPONENTS[check_currency(currency)])


def apply_bp(amount_minor: int, basis_points: int) -> int:
    """The share `basis_points` / 10000 of an amount, rounded half up to a minor unit."""
    return int((Decimal(amount_minor) * basis_points / 10000).quantize(0, ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str = "RUB"

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise MoneyError("amount_minor must be an integer number of minor units")
        check_currency(self.currency)

    @classmethod
    def parse(cls, text: str, currency: str = "RUB") -> Money:
        return cls(to_minor(text, currency), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __str__(self) -> str:
        return f"{from_minor(self.amount_minor, self.currency)} {self.currency}"
