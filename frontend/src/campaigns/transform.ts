// The wizard's form values (what the person typed, under the API's field names) -> the
// API's campaign body and the forecast request. Money becomes kopecks and percentages
// basis points through the common parsers, never floats.
import { parsePercentToBasisPoints, parseRoubles } from "../money";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const PERCENT_FIELDS = ["discount_bp", "min_discount_bp", "max_discount_bp", "holdout_bp"];

/** A picked day as the retailer's local time (the API reads a timestamp without an offset
 *  so): the period runs from the first day's start to the last day's end. */
function moment(value: unknown, end: boolean): unknown {
  if (typeof value === "string" && DAY.test(value)) return `${value}T${end ? "23:59:59" : "00:00:00"}`;
  return value;
}

function emptyToNull(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? value : null;
  return value === "" || value === undefined ? null : value;
}

/** Typed text -> a number through `parse`; a number stays (a saved value); empty -> null. */
function parsed(value: unknown, parse: (text: string) => number | null): unknown {
  if (value === "" || value === undefined || value === null) return null;
  return typeof value === "number" ? value : parse(String(value));
}

export function toCampaignBody(values: Record<string, any>): Record<string, any> {
  const data: Record<string, any> = { ...values };
  data.budget_minor = parsed(data.budget_minor, parseRoubles);
  for (const field of PERCENT_FIELDS) data[field] = parsed(data[field], parsePercentToBasisPoints);
  data.starts_at = moment(data.starts_at, false);
  data.ends_at = moment(data.ends_at, true);
  for (const field of ["store_ids", "regions", "limit_units_per_week", "goal"]) {
    data[field] = emptyToNull(data[field]);
  }
  if (data.depth_mode === "fixed") {
    data.min_discount_bp = null;
    data.max_discount_bp = null;
    data.goal = null;
  } else if (data.depth_mode === "ai") {
    data.discount_bp = null;
    data.goal = data.goal ?? "units";
  }
  // Read-only fields of a saved campaign never go back to the API.
  for (const field of ["id", "organisation_id", "status", "timeline", "created_at", "updated_at",
    "created_by_id", "launched_at", "ended_at", "stopped_early", "rejection_reason",
    "materialisation_id", "segment_version", "currency", "activation_mode"]) {
    delete data[field];
  }
  return data;
}

function day(value: unknown): string | undefined {
  if (typeof value !== "string" || !value) return undefined;
  if (DAY.test(value)) return value;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) return undefined;
  return `${parsed.getFullYear()}-${String(parsed.getMonth() + 1).padStart(2, "0")}-${String(parsed.getDate()).padStart(2, "0")}`;
}

/** POST /campaigns/forecast's body for the campaign as the form has it now. */
export function toForecastRequest(values: Record<string, any>): Record<string, any> {
  const body = toCampaignBody(values);
  const ai = body.depth_mode === "ai";
  return {
    segment_id: body.segment_id,
    skus: body.skus ?? [],
    starts_on: day(values.starts_at),
    ends_on: day(values.ends_at),
    stores: body.store_ids ?? undefined,
    depth: ai
      ? { kind: "ai", min_bp: body.min_discount_bp, max_bp: body.max_discount_bp, goal: body.goal ?? "units" }
      : { kind: "fixed", discount_bp: body.discount_bp },
    units_per_week_limit: body.limit_units_per_week ?? undefined,
    // A share of the audience (not money): basis points / 10 000.
    holdout_share: body.holdout_bp === null || body.holdout_bp === undefined ? undefined : body.holdout_bp / 10_000,
    budget_minor: body.budget_minor ?? undefined,
  };
}
