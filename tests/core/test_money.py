"""Money is integer minor units with a currency; floats and sub-kopeck amounts are refused."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import Money, MoneyError, apply_bp, from_minor, to_minor


@pytest.mark.parametrize(("text", "kopecks"), [
    ("123.45", 12345), ("0", 0), ("7", 700), ("1,5", 150), (" 99.90 ", 9990), ("-3.10", -310),
])
def test_roubles_text_becomes_kopecks(text, kopecks):
    assert to_minor(text) == kopecks


@pytest.mark.parametrize("bad", ["abc", "1.234", "", "NaN", "inf", "1e999999"])
def test_bad_amounts_are_refused_with_a_reason(bad):
    with pytest.raises(MoneyError):
        to_minor(bad)


def test_float_is_never_money():
    with pytest.raises(MoneyError, match="float"):
        to_minor(0.1)
    with pytest.raises(MoneyError):
        Money(10.0)  # type: ignore[arg-type]


def test_unknown_currency_is_refused():
    with pytest.raises(MoneyError, match="unknown currency"):
        Money(100, "XXX")


def test_arithmetic_keeps_currency_and_refuses_mixing():
    assert Money(150) + Money(50) == Money(200)
    assert str(Money(12345)) == "123.45 RUB"
    with pytest.raises(MoneyError):
        Money(1, "RUB") + Money(1, "USD")


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_minor_units_round_trip_through_decimal_text(amount):
    assert to_minor(str(from_minor(amount))) == amount


def test_basis_points_round_half_up_to_a_kopeck():
    assert apply_bp(10000, 1500) == 1500
    assert apply_bp(333, 5000) == 167
    assert isinstance(apply_bp(999, 1234), int)
    assert Decimal(apply_bp(1, 5000)) == 1
