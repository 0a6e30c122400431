// A supplier's balance: its accounts, how to top up, the statement, and the ledger entries.
import { Box, Card, CardContent, CardHeader, Grid, Typography } from "@mui/material";
import {
  AccessDenied,
  Datagrid,
  List,
  Loading,
  ResourceContextProvider,
  SelectInput,
  TextField,
  Title,
  useCanAccess,
  useGetList,
  useLocaleState,
  useTranslate,
} from "react-admin";

import { DateTimeField } from "../common/DateTimeField";
import { choicesOf, EnumField } from "../common/EnumField";
import { MoneyField } from "../common/MoneyField";
import { DateInputs, TRANSACTION_KINDS } from "../ledger/LedgerList";
import { formatMoney } from "../money";
import { StatementExport } from "./StatementExport";
import { TopUpPanel } from "./TopUpPanel";

const ledgerFilters = [
  <SelectInput key="kind" source="kind" choices={choicesOf("ledger", "kind", TRANSACTION_KINDS)} alwaysOn />,
  ...DateInputs,
];

const BalancePage = () => {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const access = useCanAccess({ resource: "balance", action: "list" });
  const accounts = useGetList("accounts", { pagination: { page: 1, perPage: 100 }, sort: { field: "id", order: "ASC" } },
    { enabled: access.canAccess === true });
  if (access.isPending) return <Loading />;
  if (!access.canAccess) return <AccessDenied />;
  const available = accounts.data?.find((a) => a.kind === "available");
  return (
    <Box sx={{ mt: 1 }}>
      <Title title="vitrina.balance.title" />
      <Grid container spacing={2}>
        <Grid item xs={12} md={5}>
          <Card>
            <CardHeader title={translate("vitrina.dashboard.balance")} />
            <CardContent>
              <Typography variant="h4" data-testid="balance-available">
                {formatMoney(available?.balance_minor ?? 0, available?.currency ?? "RUB", locale)}
              </Typography>
              {(accounts.data ?? []).filter((a) => a.kind !== "available").map((a) => (
                <Typography key={a.id} variant="body2" color="text.secondary">
                  {translate(`resources.accounts.kind.${a.kind}`)} {a.campaign_id ?? ""}: {formatMoney(a.balance_minor, a.currency, locale)}
                </Typography>
              ))}
            </CardContent>
          </Card>
          <Card sx={{ mt: 2 }}>
            <CardHeader title={translate("vitrina.balance.statement")} />
            <CardContent>
              {accounts.data && (
                <StatementExport accounts={accounts.data.map((a) => ({
                  id: a.id, label: `${translate(`resources.accounts.kind.${a.kind}`)} ${a.campaign_id ?? ""}`.trim() }))} />
              )}
            </CardContent>
          </Card>
        </Grid>
        <Grid item xs={12} md={7}>
          <Card>
            <CardHeader title={translate("vitrina.balance.topup")} />
            <CardContent><TopUpPanel /></CardContent>
          </Card>
        </Grid>
        <Grid item xs={12}>
          <Typography variant="h6" sx={{ mt: 1 }}>{translate("vitrina.balance.ledger")}</Typography>
          <ResourceContextProvider value="ledger">
            <List disableSyncWithLocation filters={ledgerFilters} sort={{ field: "created_at", order: "DESC" }}
                  title={" "} actions={false} storeKey="balance.ledger">
              <Datagrid bulkActionButtons={false} rowClick={false}>
                <DateTimeField source="created_at" />
                <EnumField source="kind" resource="ledger" group="kind" />
                <EnumField source="account_kind" resource="accounts" group="kind" />
                <TextField source="campaign_id" emptyText="—" />
                <MoneyField source="amount_minor" />
              </Datagrid>
            </List>
          </ResourceContextProvider>
        </Grid>
      </Grid>
    </Box>
  );
};

export default BalancePage;
