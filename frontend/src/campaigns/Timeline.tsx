// Every status change of the campaign, oldest first: when (the person's time zone), who
// (by name within the organisation, "the retailer" for its staff), and why.
import { Box, Stack, Typography } from "@mui/material";
import { useGetIdentity, useLocaleState, useRecordContext, useTranslate } from "react-admin";

import { formatMoment } from "../common/DateTimeField";
import { StatusChip } from "./StatusField";

export const Timeline = () => {
  const record = useRecordContext();
  const { identity } = useGetIdentity();
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const steps: any[] = record?.timeline ?? [];
  // The API names only the campaign's own organisation's people; the retailer's staff are
  // "retailer" to a supplier.
  const who = (step: any) => step.actor_user_id === null ? translate("vitrina.campaigns.by_system")
    : step.actor_user_id === identity?.id ? translate("vitrina.campaigns.by_you")
      : step.actor === "retailer" ? translate("vitrina.campaigns.by_retailer")
        : step.actor ?? translate("vitrina.campaigns.by_user", { id: step.actor_user_id });
  return (
    <Stack spacing={1} data-testid="timeline">
      {steps.map((step, index) => (
        <Box key={index} sx={{ display: "flex", gap: 2, alignItems: "baseline" }} data-testid="timeline-step">
          <Typography variant="body2" sx={{ minWidth: 170 }}>{formatMoment(step.at, locale)}</Typography>
          <StatusChip status={step.to_status} testId="timeline-status" />
          <Typography variant="body2" color="text.secondary"><span data-testid="timeline-actor">{who(step)}</span></Typography>
          {step.reason && <Typography variant="body2">«{step.reason}»</Typography>}
        </Box>
      ))}
    </Stack>
  );
};
