// Small plain-SVG charts (a chart library would double the bundle): an expected value with
// its interval per row, bars per day, and two groups side by side. Geometry only: the
// numbers shown are formatted by the caller (money from integer kopecks).
import { Box, Typography } from "@mui/material";

export interface IntervalRow {
  key: string;
  label: string;
  expected: number;
  low: number;
  high: number;
  text: (value: number) => string;
}

/** Each row: a bar to the expected value and a whisker over its interval, on its own scale. */
export const IntervalChart = ({ rows, testId }: { rows: IntervalRow[]; testId?: string }) => (
  <Box data-testid={testId} sx={{ display: "grid", gridTemplateColumns: "220px 1fr 260px", gap: 1, alignItems: "center" }}>
    {rows.map((row) => {
      // The scale spans zero and the whole interval, so a negative effect shows too.
      const bottom = Math.min(0, row.low, row.expected);
      const top = Math.max(0, row.high, row.expected);
      const span = top - bottom || 1;
      const x = (v: number) => Math.max(0, Math.min(100, ((v - bottom) / span) * 96 + 2));
      const zero = x(0);
      return [
        <Typography key={`${row.key}-l`} variant="body2">{row.label}</Typography>,
        <Box key={`${row.key}-c`} component="svg" viewBox="0 0 100 10" preserveAspectRatio="none"
             sx={{ width: "100%", height: 22 }} role="img" aria-label={row.label}>
          <rect x={Math.min(zero, x(row.expected))} y={2} width={Math.abs(x(row.expected) - zero)} height={6}
                fill={row.expected < 0 ? "#ef9a9a" : "#90caf9"} />
          <line x1={zero} x2={zero} y1={0} y2={10} stroke="#9e9e9e" strokeWidth={0.3} />
          <line x1={x(row.low)} x2={x(row.high)} y1={5} y2={5} stroke="#0d47a1" strokeWidth={0.8} />
          <line x1={x(row.low)} x2={x(row.low)} y1={2} y2={8} stroke="#0d47a1" strokeWidth={0.8} />
          <line x1={x(row.high)} x2={x(row.high)} y1={2} y2={8} stroke="#0d47a1" strokeWidth={0.8} />
        </Box>,
        <Typography key={`${row.key}-v`} variant="body2" data-testid={`figure-${row.key}`}
                    sx={{ fontVariantNumeric: "tabular-nums" }}>
          {row.text(row.expected)} <Typography component="span" variant="caption" color="text.secondary">
            ({row.text(row.low)} – {row.text(row.high)})
          </Typography>
        </Typography>,
      ];
    })}
  </Box>
);

/** One bar per day; the tooltip names the day and the formatted value. A null value is a
 * count hidden for privacy (below the minimum audience size): it is drawn as a pale full-height
 * bar with the `hidden` note, never as zero, so "fewer than 100" never reads as "nothing". */
export const DayBars = ({ days, text, empty, hidden = "", testId, color = "#1976d2" }: {
  days: { day: string; value: number | null }[];
  text: (value: number) => string;
  empty: string;
  hidden?: string;
  testId?: string;
  color?: string;
}) => {
  const max = Math.max(0, ...days.map((d) => d.value ?? 0));
  const anyHidden = days.some((d) => d.value === null);
  if (max === 0 && !anyHidden) return <Typography color="text.secondary" data-testid={testId}>{empty}</Typography>;
  const width = 100 / days.length;
  return (
    <Box data-testid={testId}>
      <Box component="svg" viewBox="0 0 100 40" preserveAspectRatio="none" sx={{ width: "100%", height: 140 }}
           role="img">
        {days.map((d, i) => {
          const h = d.value === null ? 38 : (d.value / (max || 1)) * 38;
          return (
            <rect key={d.day} x={i * width + width * 0.1} y={40 - h} width={width * 0.8} height={h}
                  fill={d.value === null ? "#e0e0e0" : color} data-hidden={d.value === null || undefined}>
              <title>{`${d.day}: ${d.value === null ? hidden : text(d.value)}`}</title>
            </rect>
          );
        })}
      </Box>
      {anyHidden && (
        <Typography variant="caption" color="text.secondary" data-testid={testId && `${testId}-hidden`}>
          <Box component="span" sx={{ display: "inline-block", width: 10, height: 10, bgcolor: "#e0e0e0", mr: 0.5 }} />
          {hidden}
        </Typography>
      )}
    </Box>
  );
};

/** Two groups (treated, holdout) compared on one measure. */
export const PairBars = ({ pairs, testId }: {
  pairs: { label: string; a: number; b: number; aText: string; bText: string }[];
  testId?: string;
}) => (
  <Box data-testid={testId} sx={{ display: "grid", gridTemplateColumns: "220px 1fr", gap: 1 }}>
    {pairs.map((pair) => {
      const top = Math.max(pair.a, pair.b, 1e-9);
      return [
        <Typography key={`${pair.label}-l`} variant="body2">{pair.label}</Typography>,
        <Box key={`${pair.label}-c`}>
          <Box sx={{ display: "flex", alignItems: "center", gap: 1 }}>
            <Box sx={{ height: 12, width: `${(pair.a / top) * 70}%`, bgcolor: "#1976d2" }} />
            <Typography variant="caption">{pair.aText}</Typography>
          </Box>
          <Box sx={{ display: "flex", alignItems: "center", gap: 1 }}>
            <Box sx={{ height: 12, width: `${(pair.b / top) * 70}%`, bgcolor: "#bdbdbd" }} />
            <Typography variant="caption">{pair.bText}</Typography>
          </Box>
        </Box>,
      ];
    })}
  </Box>
);
