"""The segment language: what a valid rule is, and how an invalid one is reported."""

from __future__ import annotations

import pytest

from audience.catalogue import BASE_FIELDS, Catalogue, CatalogueField, Op, trait_field
from audience.errors import InvalidRule
from audience.rules import All, AnyOf, Condition, Not, count_conditions, fields_of, parse_rule

SPECS = {spec.name: spec for spec in BASE_FIELDS}
CATALOGUE = Catalogue({
    **{name: CatalogueField(spec) for name, spec in SPECS.items()},
    "region": CatalogueField(SPECS["region"], values=(("Москва", "Москва"),
                                                      ("Казань", "Казань"))),
    "stores": CatalogueField(SPECS["stores"], values=(("ST1", "Тверская"), ("ST2", "Арбат"))),
    "cat_owner": CatalogueField(trait_field("cat_owner", label_ru="Кошка", label_en="Cat",
                                            description_ru="", description_en="")),
})


def parse(rule, **kwargs):
    return parse_rule(rule, CATALOGUE, **kwargs)


def rejection(rule) -> InvalidRule:
    with pytest.raises(InvalidRule) as caught:
        parse(rule)
    return caught.value


@pytest.mark.parametrize(("field", "op", "value", "parsed"), [
    ("visits_per_week", "eq", 2, 2.0),
    ("visits_per_week", "gte", 1.5, 1.5),
    ("recency_days", "lte", 30, 30.0),
    ("recency_days", "between", [7, 30], (7.0, 30.0)),
    ("avg_check_minor", "eq", 100_000, 100_000.0),
    ("avg_check_minor", "gte", 100_000, 100_000.0),
    ("total_spend_minor", "lte", 5_000_000, 5_000_000.0),
    ("total_spend_minor", "between", [0, 10_000], (0.0, 10_000.0)),
    ("region", "eq", "Москва", ("Москва",)),
    ("region", "in", ["Москва", "Казань", "Москва"], ("Москва", "Казань")),
    ("has_app", "eq", True, True),
    ("cat_owner", "eq", False, False),
    ("stores", "contains_any", ["ST1"], ("ST1",)),
    ("stores", "contains_all", ["ST1", "ST2"], ("ST1", "ST2")),
])
def test_each_operator_of_each_field_type_parses(field, op, value, parsed):
    node = parse({"field": field, "op": op, "value": value})
    assert isinstance(node, Condition)
    assert (node.field.name, node.op, node.value) == (field, Op(op), parsed)


def test_nested_trees_keep_their_shape():
    node = parse({"all": [
        {"field": "region", "op": "eq", "value": "Москва"},
        {"any": [{"field": "cat_owner", "op": "eq", "value": True},
                 {"not": {"field": "stores", "op": "contains_any", "value": ["ST2"]}}]},
    ]})
    assert isinstance(node, All) and isinstance(node.children[1], AnyOf)
    assert isinstance(node.children[1].children[1], Not)
    assert count_conditions(node) == 3
    assert fields_of(node) == {"region", "cat_owner", "stores"}
    assert node.children[1].children[1].child.path == "all[1].any[1].not"


@pytest.mark.parametrize(("rule", "path", "reason"), [
    ({"field": "shoe_size", "op": "eq", "value": 42}, "", "unknown field 'shoe_size'"),
    ({"all": [{"field": "region", "op": "eq", "value": "Москва"},
              {"any": [{"field": "nope", "op": "eq", "value": 1}]}]},
     "all[1].any[0]", "unknown field 'nope'"),
    ({"all": []}, "", "'all' needs at least one rule"),
    ({"any": [{"all": []}]}, "any[0]", "'all' needs at least one rule"),
    ({"all": [{"field": "visits_per_week", "op": "gte", "value": "many"}]},
     "all[0]", "expected a number, got text"),
    ({"all": [{"field": "has_app", "op": "eq", "value": 1}]},
     "all[0]", "expected true or false"),
    ({"all": [{"field": "region", "op": "gte", "value": "Москва"}]},
     "all[0]", "operator 'gte' does not fit the enum field 'region'"),
    ({"all": [{"field": "stores", "op": "eq", "value": "ST1"}]},
     "all[0]", "operator 'eq' does not fit the set field 'stores'"),
    ({"all": [{"field": "visits_per_week", "op": "contains_any", "value": [1]}]},
     "all[0]", "operator 'contains_any' does not fit the number field"),
    ({"all": [{"field": "visits_per_week", "op": "greater", "value": 1}]},
     "all[0]", "unknown operator 'greater'"),
    ({"not": {"field": "avg_check_minor", "op": "gte", "value": 999.5}},
     "not", "whole kopecks"),
    ({"all": [{"field": "recency_days", "op": "between", "value": [30, 7]}]},
     "all[0]", "low <= high"),
    ({"all": [{"field": "recency_days", "op": "between", "value": 7}]},
     "all[0]", "'between' takes [low, high]"),
    ({"all": [{"field": "region", "op": "eq", "value": "Атлантида"}]},
     "all[0]", "unknown value 'Атлантида' for 'region'"),
    ({"all": [{"field": "stores", "op": "contains_any", "value": []}]},
     "all[0]", "needs at least one value"),
    ({"all": [{"field": "stores", "op": "contains_all", "value": "ST1"}]},
     "all[0]", "takes a list of values"),
    ({"all": [{"field": "region", "op": "eq"}]}, "all[0]", "a condition needs 'value'"),
    ({"all": [{"field": "region", "op": "eq", "value": "Москва", "weight": 2}]},
     "all[0]", "unknown keys in a condition"),
    ({"all": [{"field": "region", "op": "eq", "value": "Москва"}], "any": []},
     "", "'all' must be the only key"),
    ({"all": [[]]}, "all[0]", "expected an object, got a list"),
    ({"all": {"field": "region"}}, "", "'all' takes a list of rules"),
    ({}, "", "empty node"),
    ({"or": []}, "", "unknown node ['or']"),
    ("everyone", "", "expected an object, got text"),
])
def test_invalid_rules_name_the_node_and_why(rule, path, reason):
    error = rejection(rule)
    assert error.path == path
    assert reason in error.reason
    assert error.errors == {f"rule.{path}" if path else "rule": error.reason}


def test_a_rule_too_deep_or_too_big_is_refused():
    deep = {"field": "has_app", "op": "eq", "value": True}
    for _ in range(20):
        deep = {"not": deep}
    assert "deeper than" in rejection(deep).reason
    wide = {"any": [{"field": "has_app", "op": "eq", "value": True}] * 500}
    assert "more than" in rejection(wide).reason


def test_saved_rules_tolerate_values_that_left_the_data():
    rule = {"field": "stores", "op": "contains_any", "value": ["ST9"]}
    assert rejection(rule).reason == "unknown value 'ST9' for 'stores'"
    assert parse(rule, strict_values=False).value == ("ST9",)


def test_without_data_any_enum_value_is_accepted():
    node = parse_rule({"field": "region", "op": "eq", "value": "Тверь"}, Catalogue.static())
    assert node.value == ("Тверь",)
