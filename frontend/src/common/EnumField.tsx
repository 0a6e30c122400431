// A value from a closed list shown in the cabinet's language: resources.<r>.<group>.<value>.
import { type FieldProps, useFieldValue, useTranslate } from "react-admin";

export const EnumField = (props: FieldProps & { resource: string; group: string }) => {
  const value = useFieldValue(props);
  const translate = useTranslate();
  if (value === null || value === undefined) return null;
  return <span>{translate(`resources.${props.resource}.${props.group}.${value}`, { _: String(value) })}</span>;
};

export function choicesOf(resource: string, group: string, values: string[]) {
  return values.map((id) => ({ id, name: `resources.${resource}.${group}.${id}` }));
}
