import { type FieldProps, useFieldValue, useLocaleState } from "react-admin";

import { formatBasisPoints } from "../money";

export const PercentField = (props: FieldProps) => {
  const value = useFieldValue(props);
  const [locale] = useLocaleState();
  return <span>{formatBasisPoints(value, locale)}</span>;
};
