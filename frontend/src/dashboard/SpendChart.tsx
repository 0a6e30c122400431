// Daily discount spend as bars (plain SVG: a chart library would double the bundle).
import { Box, Typography } from "@mui/material";
import { useLocaleState } from "react-admin";

import { formatMoney } from "../money";

export const SpendChart = ({ days, empty }: { days: { day: string; minor: number }[]; empty: string }) => {
  const [locale] = useLocaleState();
  const max = Math.max(0, ...days.map((d) => d.minor));
  if (max === 0) return <Typography color="text.secondary">{empty}</Typography>;
  const width = 100 / days.length;
  return (
    <Box component="svg" viewBox="0 0 100 40" preserveAspectRatio="none" sx={{ width: "100%", height: 160 }}
         role="img" data-testid="spend-chart">
      {days.map((d, i) => {
        const h = (d.minor / max) * 38;
        return (
          <rect key={d.day} x={i * width + width * 0.1} y={40 - h} width={width * 0.8} height={h} fill="#1976d2">
            <title>{`${d.day}: ${formatMoney(d.minor, "RUB", locale)}`}</title>
          </rect>
        );
      })}
    </Box>
  );
};
