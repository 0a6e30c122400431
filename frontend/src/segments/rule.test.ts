import { describe, expect, it } from "vitest";

import { type CatalogueField, emptyGroup, newKey, parse, serialise } from "./rule";

const field = (name: string, type: CatalogueField["type"], ops: string[]): CatalogueField => ({
  name, type, ops, unit: null, group: "g", integer: false, label: { ru: name, en: name },
  description: { ru: "", en: "" }, values: null, range: null,
});
const FIELDS = {
  has_app: field("has_app", "bool", ["eq"]),
  avg_check_minor: field("avg_check_minor", "money", ["eq", "gte", "lte", "between"]),
  region: field("region", "enum", ["eq", "in"]),
};

describe("rule builder model", () => {
  it("writes groups, negation and money in kopecks, with the API's error paths", () => {
    const root = emptyGroup();
    const app = { kind: "condition" as const, key: newKey(), negate: false, field: "has_app", op: "eq", value: true };
    const inner = emptyGroup("any");
    inner.negate = true;
    const check = { kind: "condition" as const, key: newKey(), negate: false, field: "avg_check_minor",
                    op: "between", value: ["1 000", "1500,50"] };
    const unfinished = { kind: "condition" as const, key: newKey(), negate: false, field: "region", op: "in", value: [] };
    inner.children = [unfinished, check];
    root.children = [app, inner];
    const { rule, paths, incomplete } = serialise(root, FIELDS);
    expect(rule).toEqual({ all: [
      { field: "has_app", op: "eq", value: true },
      { not: { any: [{ field: "avg_check_minor", op: "between", value: [100000, 150050] }] } },
    ] });
    expect(paths[check.key]).toBe("all[1].not.any[0]");
    expect(incomplete.has(unfinished.key)).toBe(true);
  });

  it("reads a saved rule back into the same rule", () => {
    const saved = { all: [{ not: { field: "region", op: "eq", value: "Москва" } },
                          { field: "avg_check_minor", op: "gte", value: 99950 }] };
    expect(serialise(parse(saved, FIELDS), FIELDS).rule).toEqual(saved);
  });

  it("has no rule until a condition is complete", () => {
    expect(serialise(emptyGroup(), FIELDS).rule).toBeNull();
  });
});
