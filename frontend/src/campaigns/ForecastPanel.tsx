// The forecast of a campaign: reach, activations, redemptions, units, discount spend and
// the incremental effect, each with its 80 % interval as a chart, the recommended budget,
// and the share of offers the retailer's price guardrails clipped. From the form's values
// (POST /campaigns/forecast) or a saved campaign (GET /campaigns/{id}/forecast).
import { Alert, Box, CircularProgress, Stack, Typography } from "@mui/material";
import { useQuery } from "@tanstack/react-query";
import { useLocaleState, useTranslate } from "react-admin";

import { apiFetch } from "../api";
import { ErrorBox } from "../common/ErrorBox";
import { formatMoney } from "../money";
import { IntervalChart, type IntervalRow } from "./charts";

interface Figure { expected: number; low: number; high: number }

export interface Forecast {
  model_version: number;
  segment_size: { count: number | null; label: string; below_minimum: boolean };
  reach: { count: number | null; label: string; below_minimum: boolean };
  activations: Figure;
  redemptions: Figure;
  units: Figure;
  discount_spend_minor: Figure;
  incremental_units: Figure;
  incremental_revenue_minor: Figure;
  recommended_budget_minor: number;
  clipped_share: number;
  cherry_capped_share: number;
  mean_depth_bp: number;
  weeks: number;
  currency: string;
  notes: string[];
}

function share(value: number, locale: string): string {
  return new Intl.NumberFormat(locale === "en" ? "en-GB" : "ru-RU", { style: "percent", maximumFractionDigits: 1 })
    .format(value);
}

export const ForecastView = ({ forecast, budgetMinor }: { forecast: Forecast; budgetMinor?: number | null }) => {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const number = new Intl.NumberFormat(locale === "en" ? "en-GB" : "ru-RU", { maximumFractionDigits: 0 });
  const count = (value: number) => number.format(value);
  const money = (value: number) => formatMoney(Math.round(value), forecast.currency, locale);
  const t = (key: string) => translate(`vitrina.forecast.${key}`);
  const rows: IntervalRow[] = [
    { key: "activations", label: t("activations"), ...forecast.activations, text: count },
    { key: "redemptions", label: t("redemptions"), ...forecast.redemptions, text: count },
    { key: "units", label: t("units"), ...forecast.units, text: count },
    { key: "spend", label: t("spend"), ...forecast.discount_spend_minor, text: money },
    { key: "incremental_units", label: t("incremental_units"), ...forecast.incremental_units, text: count },
    { key: "incremental_revenue", label: t("incremental_revenue"), ...forecast.incremental_revenue_minor, text: money },
  ];
  const short = budgetMinor !== undefined && budgetMinor !== null && budgetMinor < forecast.recommended_budget_minor;
  return (
    <Stack spacing={2} data-testid="forecast">
      <Typography variant="body1">
        {translate("vitrina.forecast.reach", { reach: forecast.reach.label, segment: forecast.segment_size.label,
          weeks: forecast.weeks })}
      </Typography>
      {forecast.segment_size.below_minimum && <Alert severity="warning">{t("below_minimum")}</Alert>}
      <Typography variant="caption" color="text.secondary">{t("interval")}</Typography>
      <IntervalChart rows={rows} testId="forecast-chart" />
      <Box>
        <Typography variant="body1" data-testid="forecast-recommended">
          {t("recommended")}: <b>{formatMoney(forecast.recommended_budget_minor, forecast.currency, locale)}</b>
        </Typography>
        {short && <Alert severity="info" sx={{ mt: 1 }}>{t("budget_short")}</Alert>}
      </Box>
      <Alert severity={forecast.clipped_share > 0 ? "warning" : "success"} data-testid="forecast-clipped">
        {translate("vitrina.forecast.clipped", { share: share(forecast.clipped_share, locale) })}
        {forecast.cherry_capped_share > 0 &&
          ` ${translate("vitrina.forecast.cherry", { share: share(forecast.cherry_capped_share, locale) })}`}
      </Alert>
      {forecast.notes.map((note) => <Typography key={note} variant="caption" color="text.secondary">{note}</Typography>)}
    </Stack>
  );
};

export const ForecastPanel = ({ request, campaignId, budgetMinor }: {
  request?: Record<string, any>;
  campaignId?: number | string;
  budgetMinor?: number | null;
}) => {
  const query = useQuery({
    queryKey: ["forecast", campaignId ?? null, request ?? null],
    queryFn: async ({ signal }) => {
      const { json } = campaignId !== undefined
        ? await apiFetch<Forecast>(`/campaigns/${campaignId}/forecast`, { signal })
        : await apiFetch<Forecast>("/campaigns/forecast", { method: "POST", body: request, signal });
      return json;
    },
    retry: false,
    staleTime: 60_000,
  });
  if (query.isPending) return <CircularProgress size={24} />;
  if (query.error) return <ErrorBox error={query.error} />;
  return <ForecastView forecast={query.data} budgetMinor={budgetMinor} />;
};
