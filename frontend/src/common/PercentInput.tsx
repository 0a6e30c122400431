// A percentage input over basis points: the form keeps the typed text ("12,5") under the
// API's field name and `toBasisPoints` makes it 1250 on save.
import { TextInput, type TextInputProps, type Validator } from "react-admin";

import { parsePercentToBasisPoints } from "../money";

export const validatePercent: Validator = (value) => {
  if (value === null || value === undefined || value === "") return undefined;
  return parsePercentToBasisPoints(value) === null ? "vitrina.percent.invalid" : undefined;
};

function bpToText(bp: number): string {
  const whole = Math.trunc(bp / 100);
  const rest = bp % 100;
  return rest === 0 ? `${whole}` : `${whole},${String(rest).padStart(2, "0").replace(/0$/, "")}`;
}

export const PercentInput = (props: TextInputProps) => (
  <TextInput
    {...props}
    format={(value) => (typeof value === "number" ? bpToText(value) : value ?? "")}
    validate={validatePercent}
    InputProps={{ endAdornment: "%" }}
  />
);

export function toBasisPoints<T extends Record<string, any>>(data: T, fields: string[]): T {
  const out: Record<string, any> = { ...data };
  for (const field of fields) {
    const value = out[field];
    if (value === "" || value === undefined || value === null) out[field] = null;
    else if (typeof value !== "number") out[field] = parsePercentToBasisPoints(value);
  }
  return out as T;
}
