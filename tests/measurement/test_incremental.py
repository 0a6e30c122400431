"""The comparison of treated and holdout shoppers at its edges: nobody bought yet, a group
too small to have a spread, and zeros for members who bought nothing."""

from __future__ import annotations

import numpy as np

from marketplace_api.measurement import incremental


def _group(units: list[float]) -> incremental.Group:
    values = np.asarray(units, dtype=np.float64)
    return incremental.Group(values, values * 100)


def test_when_nobody_bought_the_effect_is_exactly_zero():
    effect = incremental.compare(_group([0, 0, 0]), _group([0, 0]))
    assert effect.units_per_shopper == incremental.Interval(0.0, 0.0, 0.0)
    assert effect.incremental_units == incremental.Interval(0.0, 0.0, 0.0)
    assert effect.iroas(0) is None


def test_a_group_of_one_has_no_interval():
    assert incremental.compare(_group([1, 2, 3]), _group([4])) is None
    assert incremental.compare(_group([]), _group([1, 2])) is None


def test_members_who_bought_nothing_count_as_zeros():
    members = ["a", "b", "c", "d"]
    held = np.array([False, False, True, True])
    treated, holdout = incremental.split_groups(
        members=members, held=held, outcomes={"a": (4.0, 400), "c": (1.0, 100),
                                              "stranger": (9.0, 900)})
    assert treated.units.tolist() == [4.0, 0.0] and holdout.units.tolist() == [1.0, 0.0]
    effect = incremental.compare(treated, holdout)
    assert effect.units_per_shopper.estimate == 1.5
    assert effect.incremental_units.estimate == 3.0
    assert effect.units_per_shopper.low < 1.5 < effect.units_per_shopper.high
    assert effect.iroas(150).estimate == effect.incremental_revenue_minor.estimate / 150
