// What the rule being edited means in shoppers: the count (rounded, or "< 100" for a
// supplier), its share of all shoppers, a breakdown, and the minimum-size warning.
import { Alert, Box, Card, CardContent, LinearProgress, Typography } from "@mui/material";
import { useLocaleState, useTranslate } from "react-admin";

import { formatMoment } from "../common/DateTimeField";
import { ErrorBox } from "../common/ErrorBox";
import type { EstimateState } from "./useEstimate";

const BREAKDOWNS = ["region", "home_store", "has_app"];

export const EstimatePanel = ({ state, empty }: { state: EstimateState; empty: boolean }) => {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const { estimate, error, loading } = state;
  const share = estimate?.share_of_base;
  return (
    <Card variant="outlined" sx={{ width: 360, flexShrink: 0, position: "sticky", top: 72 }} data-testid="estimate">
      {loading ? <LinearProgress /> : <Box sx={{ height: 4 }} />}
      <CardContent>
        <Typography variant="overline">{translate("vitrina.segments.estimate")}</Typography>
        {empty && <Typography color="text.secondary">{translate("vitrina.segments.empty")}</Typography>}
        {!empty && error && !(error.body?.errors && Object.keys(error.body.errors).some((k) => k.startsWith("rule"))) && (
          <ErrorBox error={error} />
        )}
        {!empty && estimate && (
          <>
            <Typography variant="h3" component="div" data-testid="estimate-count"
                        sx={{ fontVariantNumeric: "tabular-nums", opacity: loading ? 0.5 : 1 }}>
              {estimate.count.count !== null
                ? new Intl.NumberFormat(locale === "en" ? "en-GB" : "ru-RU").format(estimate.count.count)
                : estimate.count.label}
            </Typography>
            {share !== null && share !== undefined && (
              <Typography variant="body2" color="text.secondary">
                {translate("vitrina.segments.of_base", {
                  share: new Intl.NumberFormat(locale === "en" ? "en-GB" : "ru-RU",
                    { style: "percent", maximumFractionDigits: 1 }).format(share),
                  base: estimate.base.label,
                })}
              </Typography>
            )}
            {estimate.count.below_minimum && (
              <Alert severity="warning" sx={{ mt: 1 }} data-testid="estimate-below-minimum">
                {translate("vitrina.segments.below_minimum", { min: estimate.min_audience_size })}
              </Alert>
            )}
            {!estimate.count.below_minimum && BREAKDOWNS.map((name) => (
              <Breakdown key={name} title={translate(`vitrina.segments.breakdown_${name}`)}
                         buckets={estimate.breakdown[name] ?? []} total={estimate.count.count} />
            ))}
            <Typography variant="caption" color="text.secondary" component="div" sx={{ mt: 1 }}>
              {translate("vitrina.segments.as_of", { date: formatMoment(estimate.as_of, locale) })}
            </Typography>
          </>
        )}
      </CardContent>
    </Card>
  );
};

const Breakdown = ({ title, buckets, total }: {
  title: string; total: number | null;
  buckets: { value: string | boolean | null; label: string; count: { count: number | null; label: string } }[];
}) => {
  if (!buckets.length) return null;
  return (
    <Box sx={{ mt: 2 }}>
      <Typography variant="subtitle2">{title}</Typography>
      {buckets.slice(0, 6).map((bucket) => {
        const width = total && bucket.count.count ? Math.round((bucket.count.count * 100) / total) : 0;
        return (
          <Box key={String(bucket.value)} sx={{ display: "flex", alignItems: "center", gap: 1, fontSize: 13 }}>
            <Box sx={{ flex: "0 0 45%", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
              {bucket.label}
            </Box>
            <Box sx={{ flex: 1, bgcolor: "action.hover", height: 8, borderRadius: 1 }}>
              <Box sx={{ width: `${width}%`, bgcolor: "primary.main", height: 8, borderRadius: 1 }} />
            </Box>
            <Box sx={{ flex: "0 0 56px", textAlign: "right" }}>{bucket.count.label}</Box>
          </Box>
        );
      })}
    </Box>
  );
};
