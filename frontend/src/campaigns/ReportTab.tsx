// The campaign's report: delivery, the discount spent and the budget left, daily spend and
// redemptions, and treated shoppers against the holdout with the incremental effect.
// Counts arrive as the caller may see them (a supplier: rounded, or "< 100").
import { Alert, Box, CircularProgress, Grid, Paper, Stack, Typography } from "@mui/material";
import { useQuery } from "@tanstack/react-query";
import { useLocaleState, useRecordContext, useTranslate } from "react-admin";

import { apiFetch } from "../api";
import { ErrorBox } from "../common/ErrorBox";
import { formatMoney } from "../money";
import { DayBars, PairBars } from "./charts";

const Figure = ({ label, value, testId }: { label: string; value: string; testId?: string }) => (
  <Paper variant="outlined" sx={{ p: 1.5 }}>
    <Typography variant="caption" color="text.secondary">{label}</Typography>
    <Typography variant="h6" data-testid={testId}>{value}</Typography>
  </Paper>
);

export const ReportTab = () => {
  const record = useRecordContext();
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const query = useQuery({
    queryKey: ["campaign-report", record?.id],
    queryFn: async ({ signal }) => (await apiFetch(`/campaigns/${record!.id}/report`, { signal })).json,
    enabled: record?.id !== undefined,
    retry: false,
  });
  if (query.isPending) return <CircularProgress size={24} />;
  if (query.error) return <ErrorBox error={query.error} />;
  const report: any = query.data;
  const t = (key: string, options?: any) => translate(`vitrina.report.${key}`, options);
  const money = (minor: number) => formatMoney(minor, report.currency, locale);
  const number = new Intl.NumberFormat(locale === "en" ? "en-GB" : "ru-RU", { maximumFractionDigits: 2 });
  const effect = report.effect;
  // The API's stable code, translated; its English message only for a code the cabinet
  // does not know yet.
  const effectReason = (found: any): string =>
    found.reason_code
      ? translate(`vitrina.report.no_effect_reason.${found.reason_code}`,
                  { minimum: number.format(report.min_audience_size), _: found.reason ?? "" })
      : found.reason ?? "";
  return (
    <Stack spacing={3} data-testid="report">
      <Grid container spacing={2}>
        <Grid item xs={6} md={3}><Figure label={t("served")} value={report.served_shoppers.label} /></Grid>
        <Grid item xs={6} md={3}><Figure label={t("activated")} value={report.activated_shoppers.label} /></Grid>
        <Grid item xs={6} md={3}><Figure label={t("redeemed")} value={report.redeemed_shoppers.label} /></Grid>
        <Grid item xs={6} md={3}><Figure label={t("units")} value={number.format(report.redeemed_units)} /></Grid>
        <Grid item xs={6} md={3}><Figure label={t("spent")} value={money(report.spent_minor)} testId="report-spent" /></Grid>
        <Grid item xs={6} md={3}><Figure label={t("budget_left")} value={money(report.budget_left_minor)} testId="report-budget-left" /></Grid>
      </Grid>
      <Box>
        <Typography variant="subtitle1">{t("daily_spend")}</Typography>
        <DayBars testId="report-spend-chart" empty={t("no_data")} text={money}
                 days={report.daily.map((d: any) => ({ day: d.date, value: d.spend_minor }))} />
      </Box>
      <Box>
        <Typography variant="subtitle1">{t("daily_redemptions")}</Typography>
        <DayBars testId="report-redemptions-chart" empty={t("no_data")} color="#2e7d32"
                 text={(value) => number.format(value)}
                 hidden={t("hidden_days", { minimum: number.format(report.min_audience_size) })}
                 days={report.daily.map((d: any) => ({ day: d.date, value: d.redemptions.count }))} />
      </Box>
      <Box data-testid="report-effect">
        <Typography variant="subtitle1">{t("treated_vs_holdout")}</Typography>
        <Typography variant="caption" color="text.secondary">
          {t("groups", { treated: report.treated.label, holdout: report.holdout.label })}
        </Typography>
        {!effect.available ? (
          <Alert severity="info" sx={{ mt: 1 }} data-testid="report-no-effect">
            {t("no_effect")}{effectReason(effect) ? `: ${effectReason(effect)}` : ""}
          </Alert>
        ) : (
          <Box sx={{ mt: 1 }}>
            <PairBars testId="report-effect-chart" pairs={[
              { label: t("units_per_shopper"), a: effect.treated.units_per_shopper, b: effect.holdout.units_per_shopper,
                aText: `${t("treated")}: ${number.format(effect.treated.units_per_shopper)}`,
                bText: `${t("holdout")}: ${number.format(effect.holdout.units_per_shopper)}` },
              { label: t("revenue_per_shopper"), a: effect.treated.revenue_per_shopper_minor,
                b: effect.holdout.revenue_per_shopper_minor,
                aText: `${t("treated")}: ${money(effect.treated.revenue_per_shopper_minor)}`,
                bText: `${t("holdout")}: ${money(effect.holdout.revenue_per_shopper_minor)}` },
            ]} />
            {effect.incremental_revenue && (
              <Typography variant="body2" sx={{ mt: 1 }}>
                {t("incremental_revenue", { value: money(effect.incremental_revenue.estimate_minor),
                  low: money(effect.incremental_revenue.low_minor), high: money(effect.incremental_revenue.high_minor) })}
              </Typography>
            )}
          </Box>
        )}
      </Box>
    </Stack>
  );
};
