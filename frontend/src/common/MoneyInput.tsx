// A money input: the person types roubles ("1500,50"); the form keeps that text under the
// API's field name (so the server's error for `amount_minor` shows here) and `toMinor`
// turns it into integer kopecks on save — never through a float.
import { TextInput, type TextInputProps, type Validator } from "react-admin";

import { minorToInput, parseRoubles } from "../money";

export const validateRoubles: Validator = (value) => {
  if (value === null || value === undefined || value === "") return undefined;
  return parseRoubles(value) === null ? "vitrina.money.invalid" : undefined;
};

export const MoneyInput = (props: TextInputProps) => (
  <TextInput
    {...props}
    format={(value) => (typeof value === "number" ? minorToInput(value) : value ?? "")}
    validate={props.validate ? [validateRoubles, ...[props.validate].flat()] : validateRoubles}
    InputProps={{ endAdornment: "₽" }}
  />
);

/** The form's money fields as kopecks (for a form's `transform`). */
export function toMinor<T extends Record<string, any>>(data: T, fields: string[]): T {
  const out: Record<string, any> = { ...data };
  for (const field of fields) {
    const value = out[field];
    if (value === "" || value === undefined || value === null) out[field] = null;
    else if (typeof value !== "number") out[field] = parseRoubles(value);
  }
  return out as T;
}
