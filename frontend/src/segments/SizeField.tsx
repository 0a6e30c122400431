// A segment's size as the caller may see it: "1230", or "< 100" with a warning colour.
import { Chip } from "@mui/material";
import { type FieldProps, useRecordContext } from "react-admin";

export const SizeField = (_props: FieldProps) => {
  const record = useRecordContext();
  const size = record?.size;
  if (!size) return <span>—</span>;
  return size.below_minimum
    ? <Chip size="small" color="warning" label={size.label} />
    : <span>{size.label}</span>;
};
