// A campaign's status as a coloured chip in the cabinet's language.
import { Chip } from "@mui/material";
import { type FieldProps, useFieldValue, useTranslate } from "react-admin";

const COLOURS: Record<string, "default" | "primary" | "success" | "warning" | "error" | "info"> = {
  draft: "default",
  pending_approval: "info",
  approved: "primary",
  rejected: "error",
  scheduled: "primary",
  active: "success",
  paused: "warning",
  ended: "default",
};

export const StatusChip = ({ status, testId = "campaign-status" }: { status: string; testId?: string }) => {
  const translate = useTranslate();
  return <Chip size="small" color={COLOURS[status] ?? "default"} data-testid={testId}
               label={translate(`resources.campaigns.status.${status}`, { _: status })} />;
};

export const StatusField = (props: FieldProps) => {
  const value = useFieldValue(props);
  return value ? <StatusChip status={String(value)} /> : null;
};
