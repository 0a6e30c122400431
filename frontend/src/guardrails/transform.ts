import { toMinor } from "../common/MoneyInput";
import { toBasisPoints } from "../common/PercentInput";

/** The form's texts as the API's integers; fields that do not fit the scope left out. */
export function toGuardrail(data: Record<string, any>) {
  const out = toBasisPoints(toMinor(data, ["min_price_minor"]), ["max_discount_bp", "min_margin_bp"]);
  if (out.scope === "global") {
    delete out.min_price_minor;
    delete out.max_discount_bp;
    delete out.target;
  } else {
    delete out.min_margin_bp;
  }
  return out;
}
