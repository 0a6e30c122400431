// Every status change of the campaign, oldest first: when (the person's time zone), who,
// and why.
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
  const who = (actor: number | null) => actor === null ? translate("vitrina.campaigns.by_system")
    : actor === identity?.id ? translate("vitrina.campaigns.by_you")
      : translate("vitrina.campaigns.by_user", { id: actor });
  return (
    <Stack spacing={1} data-testid="timeline">
      {steps.map((step, index) => (
        <Box key={index} sx={{ display: "flex", gap: 2, alignItems: "baseline" }} data-testid="timeline-step">
          <Typography variant="body2" sx={{ minWidth: 170 }}>{formatMoment(step.at, locale)}</Typography>
          <StatusChip status={step.to_status} testId="timeline-status" />
          <Typography variant="body2" color="text.secondary">{who(step.actor_user_id)}</Typography>
          {step.reason && <Typography variant="body2">«{step.reason}»</Typography>}
        </Box>
      ))}
    </Stack>
  );
};
