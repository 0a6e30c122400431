"""The segment language: a JSON rule tree parsed into a typed tree, or a precise complaint.

    {"all": [...]}   every child matches        {"any": [...]}   at least one child matches
    {"not": {...}}   the child does not match
    {"field": "visits_per_week", "op": "gte", "value": 2}   a condition on one field

The operators a field takes follow its type (see `catalogue.OPS_BY_TYPE`). A value must fit
the field: a number for numbers, whole kopecks for money, `[low, high]` for `between`
(inclusive), a known value (or a non-empty list of them) for enums and sets, true or false
for yes/no fields. A missing value (say, the age of a shopper who never gave it) matches no
condition, so `not` of a condition does match it.

Every complaint names the node by its path from the root: `all[2].any[0]` is the first
child of the `any` that is the third child of the root `all`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from audience.catalogue import Catalogue, FieldSpec, FieldType, Op
from audience.errors import InvalidRule

MAX_DEPTH = 12
MAX_NODES = 200
MAX_LIST_VALUES = 1000
NUMBER_LIMIT = 1e15  # beyond any count, share or kopeck amount a field holds


@dataclass(frozen=True, slots=True)
class Condition:
    field: FieldSpec
    op: Op
    # a float for number/money comparisons, (low, high) for between, a bool for yes/no,
    # a tuple of strings for enums and sets
    value: Any
    path: str


@dataclass(frozen=True, slots=True)
class All:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Condition | All | AnyOf | Not


def parse_rule(rule: Any, catalogue: Catalogue, *, strict_values: bool = True) -> Node:
    """The rule as a typed tree, checked against the catalogue.

    `strict_values=False` is for rules saved earlier: a store or brand that has since
    disappeared from the data is no longer an error there, it simply matches nobody.
    """
    parser = _Parser(catalogue, strict_values=strict_values)
    return parser.node(rule, "", depth=1)


def fields_of(node: Node) -> set[str]:
    if isinstance(node, Condition):
        return {node.field.name}
    if isinstance(node, Not):
        return fields_of(node.child)
    return set().union(*(fields_of(child) for child in node.children))


def count_conditions(node: Node) -> int:
    if isinstance(node, Condition):
        return 1
    if isinstance(node, Not):
        return count_conditions(node.child)
    return sum(count_conditions(child) for child in node.children)


def _join(path: str, step: str) -> str:
    return f"{path}.{step}" if path else step


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Parser:
    def __init__(self, catalogue: Catalogue, *, strict_values: bool) -> None:
        self.catalogue = catalogue
        self.strict_values = strict_values
        self.nodes = 0

    def node(self, raw: Any, path: str, *, depth: int) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InvalidRule(path, f"the rule has more than {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            raise InvalidRule(path, f"the rule is nested deeper than {MAX_DEPTH} levels")
        if not isinstance(raw, dict):
            raise InvalidRule(path, f"expected an object, got {_describe(raw)}")
        keys = set(raw)
        for group in ("all", "any"):
            if group in keys:
                if keys != {group}:
                    raise InvalidRule(path, f"'{group}' must be the only key of its node; "
                                            f"also found {sorted(keys - {group})}")
                return self.group(group, raw[group], path, depth=depth)
        if "not" in keys:
            if keys != {"not"}:
                raise InvalidRule(path, "'not' must be the only key of its node; "
                                        f"also found {sorted(keys - {'not'})}")
            return Not(self.node(raw["not"], _join(path, "not"), depth=depth + 1))
        if "field" in keys or "op" in keys:
            return self.condition(raw, path)
        if not keys:
            raise InvalidRule(path, "empty node: expected all, any, not or a condition")
        raise InvalidRule(path, f"unknown node {sorted(keys)}: expected all, any, not or a "
                                "condition with field, op and value")

    def group(self, kind: str, children: Any, path: str, *, depth: int) -> Node:
        if not isinstance(children, list):
            raise InvalidRule(path, f"'{kind}' takes a list of rules, got {_describe(children)}")
        if not children:
            raise InvalidRule(path, f"'{kind}' needs at least one rule")
        parsed = tuple(self.node(child, f"{_join(path, kind)}[{index}]", depth=depth + 1)
                       for index, child in enumerate(children))
        return All(parsed) if kind == "all" else AnyOf(parsed)

    def condition(self, raw: dict, path: str) -> Condition:
        extra = set(raw) - {"field", "op", "value"}
        if extra:
            raise InvalidRule(path, f"unknown keys in a condition: {sorted(extra)}")
        for key in ("field", "op", "value"):
            if key not in raw:
                raise InvalidRule(path, f"a condition needs '{key}'")
        name, op_name, value = raw["field"], raw["op"], raw["value"]
        if not isinstance(name, str):
            raise InvalidRule(path, f"'field' must be text, got {_describe(name)}")
        entry = self.catalogue.get(name)
        if entry is None:
            raise InvalidRule(path, f"unknown field '{name}'")
        spec = entry.spec
        allowed = ", ".join(op.value for op in spec.ops)
        try:
            op = Op(op_name) if isinstance(op_name, str) else None
        except ValueError:
            op = None
        if op is None:
            raise InvalidRule(path, f"unknown operator {op_name!r}; '{name}' takes {allowed}")
        if op not in spec.ops:
            raise InvalidRule(path, f"operator '{op.value}' does not fit the {spec.type.value} "
                                    f"field '{name}'; it takes {allowed}")
        checked = self.value(spec, op, value, path)
        return Condition(field=spec, op=op, value=checked, path=path)

    # --- values --------------------------------------------------------------------------

    def value(self, spec: FieldSpec, op: Op, value: Any, path: str) -> Any:
        if spec.type in (FieldType.number, FieldType.money):
            if op is Op.between:
                if not isinstance(value, list) or len(value) != 2:
                    raise InvalidRule(path, "'between' takes [low, high], got "
                                            f"{_describe(value)}")
                low = self.number(spec, value[0], path)
                high = self.number(spec, value[1], path)
                if low > high:
                    raise InvalidRule(path, f"'between' needs low <= high, got [{value[0]}, "
                                            f"{value[1]}]")
                return (low, high)
            return self.number(spec, value, path)
        if spec.type is FieldType.bool:
            if not isinstance(value, bool):
                raise InvalidRule(path, f"'{spec.name}' is yes/no: expected true or false, got "
                                        f"{_describe(value)}")
            return value
        if op is Op.eq:
            return (self.label(spec, value, path),)
        if not isinstance(value, list):
            raise InvalidRule(path, f"'{op.value}' takes a list of values, got "
                                    f"{_describe(value)}")
        if not value:
            raise InvalidRule(path, f"'{op.value}' needs at least one value")
        if len(value) > MAX_LIST_VALUES:
            raise InvalidRule(path, f"at most {MAX_LIST_VALUES} values")
        return tuple(dict.fromkeys(self.label(spec, item, path) for item in value))

    def number(self, spec: FieldSpec, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidRule(path, f"'{spec.name}' is a {spec.type.value} field: expected a "
                                    f"number, got {_describe(value)}")
        if not math.isfinite(value) or abs(value) > NUMBER_LIMIT:
            raise InvalidRule(path, f"{value!r} is out of range for '{spec.name}'")
        if spec.type is FieldType.money and value != int(value):
            raise InvalidRule(path, f"'{spec.name}' is money in whole kopecks: expected an "
                                    f"integer, got {value!r}")
        return float(value)

    def label(self, spec: FieldSpec, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise InvalidRule(path, f"'{spec.name}' takes text values, got {_describe(value)}")
        allowed = self.catalogue.allowed_values(spec.name)
        if self.strict_values and allowed is not None and value not in allowed:
            raise InvalidRule(path, f"unknown value {value!r} for '{spec.name}'")
        return value
