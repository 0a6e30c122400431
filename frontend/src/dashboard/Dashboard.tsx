// The first screen after login, per role: a supplier's money at a glance; the finance
// officer's balances and low-balance list; the marketer's work in numbers.
import { Box, Card, CardContent, CardHeader, Grid, Table, TableBody, TableCell, TableHead, TableRow, Typography } from "@mui/material";
import { Title, useGetIdentity, useGetList, useLocaleState, useTranslate } from "react-admin";

import type { Role } from "../api";
import { ErrorBox } from "../common/ErrorBox";
import { formatMoney } from "../money";
import { type Posting, spendByDay, spendSince, startOfWeek } from "./figures";
import { SpendChart } from "./SpendChart";

const Figure = ({ title, minor, testId }: { title: string; minor: number; testId: string }) => {
  const [locale] = useLocaleState();
  return (
    <Card sx={{ height: "100%" }}>
      <CardContent>
        <Typography variant="overline" color="text.secondary">{title}</Typography>
        <Typography variant="h4" data-testid={testId} sx={{ fontVariantNumeric: "tabular-nums" }}>
          {formatMoney(minor, "RUB", locale)}
        </Typography>
      </CardContent>
    </Card>
  );
};

const SupplierDashboard = () => {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const accounts = useGetList("accounts", { pagination: { page: 1, perPage: 200 }, sort: { field: "id", order: "ASC" } });
  const fourWeeksAgo = new Date();
  fourWeeksAgo.setDate(fourWeeksAgo.getDate() - 28);
  const spend = useGetList<Posting & { id: number }>("ledger", {
    pagination: { page: 1, perPage: 1000 }, sort: { field: "created_at", order: "DESC" },
    filter: { kind: "capture", account_kind: "authorized", created_at_gte: fourWeeksAgo.toISOString() },
  });
  if (accounts.error) return <ErrorBox error={accounts.error} />;
  const rows = accounts.data ?? [];
  const available = rows.filter((a) => a.kind === "available").reduce((s, a) => s + a.balance_minor, 0);
  const held = rows.filter((a) => a.kind === "budget" || a.kind === "authorized").reduce((s, a) => s + a.balance_minor, 0);
  const postings = spend.data ?? [];
  const campaigns = Object.entries(rows.filter((a) => a.campaign_id).reduce((acc: Record<string, { budget: number; authorized: number }>, a) => {
    acc[a.campaign_id] ??= { budget: 0, authorized: 0 };
    if (a.kind === "budget") acc[a.campaign_id].budget += a.balance_minor;
    if (a.kind === "authorized") acc[a.campaign_id].authorized += a.balance_minor;
    return acc;
  }, {}));
  return (
    <Grid container spacing={2}>
      <Grid item xs={12} md={4}><Figure title={translate("vitrina.dashboard.balance")} minor={available} testId="dashboard-balance" /></Grid>
      <Grid item xs={12} md={4}><Figure title={translate("vitrina.dashboard.held")} minor={held} testId="dashboard-held" /></Grid>
      <Grid item xs={12} md={4}><Figure title={translate("vitrina.dashboard.spend_week")} minor={spendSince(postings, startOfWeek())} testId="dashboard-spend-week" /></Grid>
      <Grid item xs={12} md={7}>
        <Card>
          <CardHeader title={translate("vitrina.dashboard.spend_chart")} />
          <CardContent><SpendChart days={spendByDay(postings, 28)} empty={translate("vitrina.dashboard.no_spend")} /></CardContent>
        </Card>
      </Grid>
      <Grid item xs={12} md={5}>
        <Card>
          <CardHeader title={translate("vitrina.dashboard.campaigns_money")} />
          <CardContent>
            {campaigns.length === 0 ? (
              <Typography color="text.secondary">{translate("vitrina.dashboard.no_campaign_money")}</Typography>
            ) : (
              <Table size="small">
                <TableHead><TableRow>
                  <TableCell>{translate("vitrina.dashboard.campaign")}</TableCell>
                  <TableCell align="right">{translate("vitrina.dashboard.in_budget")}</TableCell>
                  <TableCell align="right">{translate("vitrina.dashboard.authorized")}</TableCell>
                </TableRow></TableHead>
                <TableBody>
                  {campaigns.map(([id, money]) => (
                    <TableRow key={id}>
                      <TableCell>{id}</TableCell>
                      <TableCell align="right">{formatMoney(money.budget, "RUB", locale)}</TableCell>
                      <TableCell align="right">{formatMoney(money.authorized, "RUB", locale)}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            )}
          </CardContent>
        </Card>
      </Grid>
    </Grid>
  );
};

const FinanceDashboard = () => {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const accounts = useGetList("accounts", { pagination: { page: 1, perPage: 1000 }, sort: { field: "organisation_id", order: "ASC" },
    filter: { kind: "available" } });
  const organisations = useGetList("organisations", { pagination: { page: 1, perPage: 1000 }, sort: { field: "name", order: "ASC" } });
  const topups = useGetList("topups", { pagination: { page: 1, perPage: 5 }, sort: { field: "created_at", order: "DESC" } });
  const names = Object.fromEntries((organisations.data ?? []).map((o) => [o.id, o.name]));
  const rows = accounts.data ?? [];
  const total = rows.reduce((s, a) => s + a.balance_minor, 0);
  const low = rows.filter((a) => a.low_balance_threshold_minor !== null && a.balance_minor < a.low_balance_threshold_minor);
  return (
    <Grid container spacing={2}>
      <Grid item xs={12} md={4}><Figure title={translate("vitrina.dashboard.total_available")} minor={total} testId="dashboard-total" /></Grid>
      <Grid item xs={12} md={8}>
        <Card>
          <CardHeader title={translate("vitrina.dashboard.low_balances")} />
          <CardContent data-testid="low-balances">
            {low.length === 0 ? <Typography color="text.secondary">{translate("vitrina.dashboard.no_low_balances")}</Typography> : (
              <Table size="small"><TableBody>
                {low.map((a) => (
                  <TableRow key={a.id}>
                    <TableCell>{names[a.organisation_id] ?? a.organisation_id}</TableCell>
                    <TableCell align="right">{formatMoney(a.balance_minor, a.currency, locale)}</TableCell>
                    <TableCell align="right">{formatMoney(a.low_balance_threshold_minor, a.currency, locale)}</TableCell>
                  </TableRow>
                ))}
              </TableBody></Table>
            )}
          </CardContent>
        </Card>
      </Grid>
      <Grid item xs={12}>
        <Card>
          <CardHeader title={translate("vitrina.dashboard.latest_topups")} />
          <CardContent>
            <Table size="small"><TableBody>
              {(topups.data ?? []).map((t) => (
                <TableRow key={t.id}>
                  <TableCell>{names[t.organisation_id] ?? t.organisation_id}</TableCell>
                  <TableCell>{translate(`resources.topups.method.${t.method}`)}</TableCell>
                  <TableCell>{translate(`resources.topups.status.${t.status}`)}</TableCell>
                  <TableCell align="right">{formatMoney(t.amount_minor, t.currency, locale)}</TableCell>
                </TableRow>
              ))}
            </TableBody></Table>
          </CardContent>
        </Card>
      </Grid>
    </Grid>
  );
};

const MarketerDashboard = () => {
  const translate = useTranslate();
  const one = { pagination: { page: 1, perPage: 1 } };
  const segments = useGetList("segments", { ...one, filter: { status: "active" } });
  const guardrails = useGetList("guardrails", one);
  const organisations = useGetList("organisations", one);
  return (
    <Card>
      <CardContent>
        <Typography>{translate("vitrina.dashboard.staff_intro")}</Typography>
        <Typography variant="body2" color="text.secondary" sx={{ mt: 1 }}>
          {translate("vitrina.dashboard.counts", {
            segments: segments.total ?? "…", guardrails: guardrails.total ?? "…", organisations: organisations.total ?? "…" })}
        </Typography>
      </CardContent>
    </Card>
  );
};

const Dashboard = () => {
  const { identity } = useGetIdentity();
  const translate = useTranslate();
  const role = identity?.role as Role | undefined;
  return (
    <Box sx={{ mt: 2 }}>
      <Title title="vitrina.title" />
      <Typography variant="h5" gutterBottom>
        {translate("vitrina.dashboard.welcome", { name: identity?.fullName ?? "" })}
      </Typography>
      {role === "supplier_manager" && <SupplierDashboard />}
      {(role === "finance_officer" || role === "admin") && <FinanceDashboard />}
      {(role === "retail_marketer" || role === "admin") && <Box sx={{ mt: 2 }}><MarketerDashboard /></Box>}
    </Box>
  );
};

export default Dashboard;
