"""Counting on the in-memory snapshot: every operator on every field type, nesting,
missing values, the breakdown, and the reload of a newer build."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audience import snapshot as snapshot_module
from audience.catalogue import trait_field
from audience.rules import parse_rule
from audience.snapshot import BuildFile, SnapshotHolder, load_snapshot

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
STORES = [f"ST{i:02d}" for i in range(20)]


def feature_frame(n: int = 600, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    visits = rng.integers(0, 30, n)
    frame = pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "visits_per_week": np.round(visits / 26, 2).astype(np.float32),
        "recency_days": np.where(visits > 0, rng.integers(0, 180, n), np.nan).astype(
            np.float32),
        "avg_check_minor": pd.Series(rng.integers(20_000, 300_000, n),
                                     dtype="Int64").where(visits > 0, pd.NA),
        "total_spend_minor": rng.integers(0, 5_000_000, n),
        "region": rng.choice(["Москва", "Казань", "Пермь", None], n),
        "home_store": rng.choice([*STORES[:6], None], n),
        "has_app": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
        "loyalty_tier": rng.choice(["base", "silver", "gold"], n),
        "cat_owner": rng.random(n) < 0.2,
    })
    frame["stores"] = [sorted(set(rng.choice(STORES, rng.integers(0, 4)))) for _ in range(n)]
    frame["favourite_brands"] = [list(rng.choice(["Мурлыка", "Барбос", "Кисуля", "Бурёнкино"],
                                                  rng.integers(0, 3), replace=False))
                                 for _ in range(n)]
    return frame


def write_build(tmp_path, frame: pd.DataFrame, build_id: int = 1) -> BuildFile:
    path = tmp_path / f"build-{build_id}.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    cat = trait_field("cat_owner", label_ru="Кошка", label_en="Cat", description_ru="",
                      description_en="")
    return BuildFile(id=build_id, path=str(path), as_of=AS_OF, window_weeks=26, fields=[cat])


@pytest.fixture
def frame() -> pd.DataFrame:
    return feature_frame()


@pytest.fixture
def snap(tmp_path, frame):
    return load_snapshot(write_build(tmp_path, frame), store_names={"ST00": "Тверская"})


def count(snap, rule) -> int:
    return snap.count(parse_rule(rule, snap.catalogue))


def has(values, wanted, every: bool) -> pd.Series:
    return values.map(lambda row: (set(wanted) <= set(row)) if every
                      else bool(set(wanted) & set(row)))


def test_number_and_money_operators(snap, frame):
    week = frame["visits_per_week"]
    check = frame["avg_check_minor"]
    cases = [
        ({"field": "visits_per_week", "op": "gte", "value": 0.5}, (week >= np.float32(0.5))),
        ({"field": "visits_per_week", "op": "lte", "value": 0.31}, (week <= np.float32(0.31))),
        ({"field": "visits_per_week", "op": "eq", "value": 0.5}, (week == np.float32(0.5))),
        ({"field": "visits_per_week", "op": "between", "value": [0.2, 0.6]},
         (week >= np.float32(0.2)) & (week <= np.float32(0.6))),
        ({"field": "avg_check_minor", "op": "gte", "value": 100_000}, check >= 100_000),
        ({"field": "avg_check_minor", "op": "lte", "value": 100_000}, check <= 100_000),
        ({"field": "avg_check_minor", "op": "between", "value": [50_000, 150_000]},
         (check >= 50_000) & (check <= 150_000)),
        ({"field": "total_spend_minor", "op": "eq",
          "value": int(frame["total_spend_minor"][7])},
         frame["total_spend_minor"] == frame["total_spend_minor"][7]),
    ]
    for rule, expected in cases:
        assert count(snap, rule) == int(expected.fillna(False).sum()), rule


def test_enum_bool_and_set_operators(snap, frame):
    stores, brands = frame["stores"], frame["favourite_brands"]
    cases = [
        ({"field": "region", "op": "eq", "value": "Москва"}, frame["region"] == "Москва"),
        ({"field": "region", "op": "in", "value": ["Москва", "Пермь"]},
         frame["region"].isin(["Москва", "Пермь"])),
        ({"field": "home_store", "op": "in", "value": STORES[:5]},
         frame["home_store"].isin(STORES[:5])),
        ({"field": "has_app", "op": "eq", "value": True}, frame["has_app"] == True),  # noqa: E712
        ({"field": "has_app", "op": "eq", "value": False}, frame["has_app"] == False),  # noqa: E712
        ({"field": "cat_owner", "op": "eq", "value": True}, frame["cat_owner"]),
        ({"field": "stores", "op": "contains_any", "value": ["ST01", "ST13"]},
         has(stores, ["ST01", "ST13"], every=False)),
        ({"field": "stores", "op": "contains_all", "value": ["ST01", "ST13"]},
         has(stores, ["ST01", "ST13"], every=True)),
        ({"field": "stores", "op": "contains_all", "value": ["ST02"]},
         has(stores, ["ST02"], every=True)),
        ({"field": "favourite_brands", "op": "contains_any", "value": ["Мурлыка", "Кисуля"]},
         has(brands, ["Мурлыка", "Кисуля"], every=False)),
        ({"field": "favourite_brands", "op": "contains_all", "value": ["Мурлыка", "Кисуля"]},
         has(brands, ["Мурлыка", "Кисуля"], every=True)),
    ]
    for rule, expected in cases:
        assert count(snap, rule) == int(expected.fillna(False).astype(bool).sum()), rule


def test_sets_with_many_values_count_the_same_through_posting_lists(
        tmp_path, frame, monkeypatch):
    bitmaps = load_snapshot(write_build(tmp_path, frame))
    monkeypatch.setattr(snapshot_module, "MAX_BITMAP_VALUES", 3)
    postings = load_snapshot(write_build(tmp_path, frame, build_id=2))
    assert postings.columns["stores"].postings is not None
    assert bitmaps.columns["stores"].bitmaps is not None
    for op in ("contains_any", "contains_all"):
        for wanted in (["ST00"], ["ST03", "ST07"], ["ST19", "ST04", "ST11"]):
            rule = {"field": "stores", "op": op, "value": wanted}
            assert count(bitmaps, rule) == count(postings, rule) == int(
                has(frame["stores"], wanted, every=op == "contains_all").sum())


def test_nested_rules_combine_like_boolean_algebra(snap, frame):
    rule = {"all": [
        {"any": [{"field": "region", "op": "eq", "value": "Москва"},
                 {"field": "cat_owner", "op": "eq", "value": True}]},
        {"not": {"field": "stores", "op": "contains_any", "value": ["ST01"]}},
        {"field": "total_spend_minor", "op": "gte", "value": 1_000_000},
    ]}
    expected = (((frame["region"] == "Москва") | frame["cat_owner"])
                & ~has(frame["stores"], ["ST01"], every=False)
                & (frame["total_spend_minor"] >= 1_000_000))
    assert count(snap, rule) == int(expected.sum())


def test_a_missing_value_matches_no_condition_but_matches_its_negation(snap, frame):
    unknown_recency = int(frame["recency_days"].isna().sum())
    assert unknown_recency > 0
    low = {"field": "recency_days", "op": "lte", "value": 1000}
    assert count(snap, low) == len(frame) - unknown_recency
    assert count(snap, {"not": low}) == unknown_recency
    unknown_app = int(frame["has_app"].isna().sum())
    yes = count(snap, {"field": "has_app", "op": "eq", "value": True})
    no = count(snap, {"field": "has_app", "op": "eq", "value": False})
    assert yes + no + unknown_app == len(frame)


def test_breakdown_adds_up_to_the_count(snap, frame):
    node = parse_rule({"field": "total_spend_minor", "op": "gte", "value": 2_000_000},
                      snap.catalogue)
    estimate = snap.estimate(node)
    matching = frame[frame["total_spend_minor"] >= 2_000_000]
    assert estimate.count == len(matching) and estimate.base == len(frame)
    for name in ("region", "home_store", "has_app"):
        assert sum(bucket.count for bucket in estimate.breakdown[name]) == len(matching)
    by_region = {bucket.value: bucket.count for bucket in estimate.breakdown["region"]}
    assert by_region == {key if isinstance(key, str) else None: int(value) for key, value in
                         matching["region"].value_counts(dropna=False).items()}
    labels = {bucket.value: bucket.label for bucket in estimate.breakdown["home_store"]}
    assert labels.get("ST00") == "Тверская"


def test_a_long_breakdown_keeps_the_largest_and_sums_the_rest(snap, frame, monkeypatch):
    monkeypatch.setattr(snapshot_module, "BREAKDOWN_TOP", 3)
    node = parse_rule({"field": "total_spend_minor", "op": "gte", "value": 0}, snap.catalogue)
    stores = snap.estimate(node).breakdown["home_store"]
    counts = frame["home_store"].value_counts(dropna=False).sort_values(ascending=False)
    assert [bucket.count for bucket in stores[:2]] == list(counts.iloc[:2])
    assert stores[2].value == snapshot_module.OTHER
    assert stores[2].count == len(frame) - counts.iloc[:2].sum()


def test_members_are_the_matching_customer_ids(snap, frame):
    node = parse_rule({"field": "cat_owner", "op": "eq", "value": True}, snap.catalogue)
    assert sorted(snap.members(node)) == sorted(frame.loc[frame["cat_owner"], "customer_id"])


def test_catalogue_lists_values_and_a_typical_range(snap):
    fields = {entry["name"]: entry for entry in snap.catalogue.to_json()}
    assert [v["value"] for v in fields["region"]["values"]] == ["Казань", "Москва", "Пермь"]
    store = next(v for v in fields["stores"]["values"] if v["value"] == "ST00")
    assert store["label"] == "Тверская"
    assert fields["avg_check_minor"]["range"]["min"] == 0
    assert 250_000 <= fields["avg_check_minor"]["range"]["max"] <= 310_000
    assert fields["cat_owner"]["ops"] == ["eq"]
    assert fields["stores"]["ops"] == ["contains_any", "contains_all"]


def test_holder_loads_once_then_picks_up_a_newer_publication(tmp_path):
    builds = {1: write_build(tmp_path, feature_frame(100), build_id=1),
              2: write_build(tmp_path, feature_frame(250, seed=2), build_id=2)}
    published = [1]
    loads = []

    def load(key):
        loads.append(key)
        return load_snapshot(builds[key])

    holder = SnapshotHolder(latest=lambda: published[-1], load=load, check_every=3600)
    assert holder.get().n == 100
    published.append(2)
    assert holder.get().n == 100  # not checked again yet
    holder.check_every = 0
    holder.get()
    holder.wait_for_reload()
    assert holder.get().n == 250
    assert loads == [1, 2]
