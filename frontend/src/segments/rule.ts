// The rule builder's model: a tree of groups (all / any, optionally negated) and
// conditions, turned into the API's rule language and back:
//   {"all": [...]}, {"any": [...]}, {"not": {...}}, {"field", "op", "value"}.
// Money values stay integer kopecks; the builder edits them as rouble text.
import { parseRoubles } from "../money";

export type FieldType = "number" | "money" | "enum" | "bool" | "set";

export interface CatalogueField {
  name: string;
  type: FieldType;
  ops: string[];
  unit: string | null;
  group: string;
  integer: boolean;
  label: { ru: string; en: string };
  description: { ru: string; en: string };
  values: { value: string | boolean; label: string }[] | null;
  range: { min: number | null; max: number | null; typical_max: number | null } | null;
}

export interface ConditionNode {
  kind: "condition";
  key: string;
  negate: boolean;
  field: string;
  op: string;
  // text for numbers and money (as typed), [low, high] texts for between, a boolean,
  // a string for an enum's eq, a list of strings for in / contains_*
  value: unknown;
}

export interface GroupNode {
  kind: "group";
  key: string;
  negate: boolean;
  op: "all" | "any";
  children: RuleNode[];
}

export type RuleNode = ConditionNode | GroupNode;

let counter = 0;
export const newKey = () => `n${++counter}`;

export const emptyGroup = (op: "all" | "any" = "all"): GroupNode =>
  ({ kind: "group", key: newKey(), negate: false, op, children: [] });

export function newCondition(field: CatalogueField): ConditionNode {
  return { kind: "condition", key: newKey(), negate: false, field: field.name, op: field.ops[0],
           value: defaultValue(field, field.ops[0]) };
}

export function defaultValue(field: CatalogueField, op: string): unknown {
  if (field.type === "bool") return true;
  if (op === "between") return ["", ""];
  if (op === "in" || op === "contains_any" || op === "contains_all") return [];
  return "";
}

function numberOf(field: CatalogueField, text: unknown): number | null {
  if (typeof text === "number") return text;
  if (typeof text !== "string" || text.trim() === "") return null;
  if (field.type === "money") return parseRoubles(text);
  const value = Number(text.replace(",", ".").replace(/\s/g, ""));
  return Number.isFinite(value) ? value : null;
}

/** The condition's value in the rule language, or undefined while it is incomplete. */
export function conditionValue(field: CatalogueField | undefined, node: ConditionNode): unknown {
  if (!field) return undefined;
  const { op, value } = node;
  if (field.type === "bool") return typeof value === "boolean" ? value : undefined;
  if (field.type === "number" || field.type === "money") {
    if (op === "between") {
      const [low, high] = Array.isArray(value) ? value : ["", ""];
      const a = numberOf(field, low);
      const b = numberOf(field, high);
      return a === null || b === null ? undefined : [a, b];
    }
    const n = numberOf(field, value);
    return n === null ? undefined : n;
  }
  if (op === "eq") return typeof value === "string" && value !== "" ? value : undefined;
  return Array.isArray(value) && value.length > 0 ? value : undefined;
}

export interface Serialised {
  rule: Record<string, unknown> | null;
  /** the path the API uses in its errors ("all[1].not") of each node, by key */
  paths: Record<string, string>;
  incomplete: Set<string>;
}

const join = (path: string, step: string) => (path ? `${path}.${step}` : step);

/** The tree as a rule; incomplete conditions and empty groups are left out (and listed). */
export function serialise(root: GroupNode, fields: Record<string, CatalogueField>): Serialised {
  const paths: Record<string, string> = {};
  const incomplete = new Set<string>();

  const build = (node: RuleNode, path: string): Record<string, unknown> | null => {
    const inner = node.negate ? join(path, "not") : path;
    let body: Record<string, unknown> | null;
    if (node.kind === "condition") {
      const value = conditionValue(fields[node.field], node);
      if (value === undefined) {
        incomplete.add(node.key);
        return null;
      }
      body = { field: node.field, op: node.op, value };
    } else {
      const children: Record<string, unknown>[] = [];
      for (const child of node.children) {
        const built = build(child, `${join(inner, node.op)}[${children.length}]`);
        if (built) children.push(built);
      }
      body = children.length ? { [node.op]: children } : null;
    }
    if (!body) return null;
    paths[node.key] = inner;
    return node.negate ? { not: body } : body;
  };

  return { rule: build(root, ""), paths, incomplete };
}

function asText(field: CatalogueField | undefined, value: unknown): unknown {
  if (typeof value !== "number") return value;
  if (field?.type === "money") {
    const whole = Math.trunc(value / 100);
    const rest = Math.abs(value % 100);
    return rest ? `${whole},${String(rest).padStart(2, "0")}` : `${whole}`;
  }
  return String(value);
}

/** A saved rule as a tree the builder edits (the root is always a group). */
export function parse(rule: unknown, fields: Record<string, CatalogueField>): GroupNode {
  const node = parseNode(rule, fields);
  if (!node) return emptyGroup();
  if (node.kind === "group" && !node.negate) return node;
  return { ...emptyGroup(), children: [node] };
}

function parseNode(raw: unknown, fields: Record<string, CatalogueField>): RuleNode | null {
  if (!raw || typeof raw !== "object") return null;
  const object = raw as Record<string, any>;
  if ("not" in object) {
    const inner = parseNode(object.not, fields);
    return inner ? { ...inner, negate: !inner.negate } : null;
  }
  for (const op of ["all", "any"] as const) {
    if (Array.isArray(object[op])) {
      return { kind: "group", key: newKey(), negate: false, op,
               children: object[op].map((c: unknown) => parseNode(c, fields)).filter(Boolean) as RuleNode[] };
    }
  }
  if (typeof object.field === "string") {
    const field = fields[object.field];
    const value = Array.isArray(object.value) && object.op === "between"
      ? object.value.map((v: unknown) => asText(field, v))
      : asText(field, object.value);
    return { kind: "condition", key: newKey(), negate: false, field: object.field, op: object.op, value };
  }
  return null;
}
