"""Random segment rules over a field catalogue (GET /audience/fields), for the exactness
test and bench/audience.py: trees of all/any/not with a chosen number of conditions and
values drawn from each field's values or range."""

from __future__ import annotations

import random
from typing import Any


def random_condition(field: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    name, kind = field["name"], field["type"]
    op = rng.choice(field["ops"])
    if kind in ("number", "money"):
        bounds = field["range"]
        low = bounds["min"] if bounds["min"] is not None else 0
        high = next((v for v in (bounds.get("typical_max"), bounds["max"]) if v is not None),
                    100)
        high = max(high, low + 1)

        def draw() -> float | int:
            value = rng.uniform(low, high)
            if kind == "money" or field["integer"]:
                return round(value)
            return round(value, 2)

        value = sorted([draw(), draw()]) if op == "between" else draw()
        return {"field": name, "op": op, "value": value}
    if kind == "bool":
        return {"field": name, "op": "eq", "value": rng.random() < 0.5}
    values = [item["value"] for item in field["values"]]
    if op == "eq":
        return {"field": name, "op": op, "value": rng.choice(values)}
    most = 2 if op == "contains_all" else 3
    picked = rng.sample(values, k=min(len(values), rng.randint(1, most)))
    return {"field": name, "op": op, "value": picked}


def random_rule(fields: list[dict[str, Any]], rng: random.Random,
                conditions: int) -> dict[str, Any]:
    """A rule with exactly `conditions` conditions, nested at random."""
    usable = [f for f in fields if f["type"] in ("number", "money", "bool") or f["values"]]
    shares = [f for f in usable if f["name"].startswith("category_share:")]
    others = [f for f in usable if not f["name"].startswith("category_share:")]
    if conditions == 1:
        # A share per category is most of the catalogue; don't let it be most of the rules.
        pool = shares if shares and rng.random() < 0.2 else others
        leaf = random_condition(rng.choice(pool), rng)
        return {"not": leaf} if rng.random() < 0.15 else leaf
    parts = rng.randint(2, min(conditions, 4))
    cuts = sorted(rng.sample(range(1, conditions), parts - 1))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, conditions], strict=True)]
    node = {rng.choice(["all", "all", "any"]): [random_rule(fields, rng, size)
                                                 for size in sizes]}
    return {"not": node} if rng.random() < 0.1 else node
