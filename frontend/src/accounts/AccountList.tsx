// Every organisation's accounts with balances (retailer staff), a low-balance flag, and
// the statement of any account.
import DownloadIcon from "@mui/icons-material/Download";
import { Chip, IconButton, Tooltip } from "@mui/material";
import {
  AutocompleteInput,
  Datagrid,
  List,
  ReferenceField,
  ReferenceInput,
  SelectInput,
  TextField,
  useNotify,
  useRecordContext,
  useTranslate,
} from "react-admin";

import { downloadStatement, thisMonth } from "../balance/statement";
import { choicesOf, EnumField } from "../common/EnumField";
import { MoneyField } from "../common/MoneyField";
import { ACCOUNT_KINDS } from "../ledger/LedgerList";

const LowFlag = (_props: { label?: string }) => {
  const record = useRecordContext();
  const translate = useTranslate();
  if (!record || record.low_balance_threshold_minor === null
      || record.balance_minor >= record.low_balance_threshold_minor) return null;
  return <Chip size="small" color="warning" label={translate("resources.accounts.low")} />;
};

const StatementButton = (_props: { label?: string }) => {
  const record = useRecordContext();
  const translate = useTranslate();
  const notify = useNotify();
  if (!record) return null;
  const { from, to } = thisMonth();
  return (
    <Tooltip title={translate("vitrina.balance.statement_download")}>
      <IconButton size="small" aria-label={translate("vitrina.balance.statement_download")}
                  onClick={(e) => {
                    e.stopPropagation();
                    downloadStatement(record.id as number, from, to).catch((error) =>
                      notify("vitrina.balance.statement_failed", { type: "error", messageArgs: { message: error.message } }));
                  }}>
        <DownloadIcon fontSize="small" />
      </IconButton>
    </Tooltip>
  );
};

const filters = [
  <ReferenceInput key="org" source="organisation_id" reference="organisations" alwaysOn>
    <AutocompleteInput optionText="name" filterToQuery={(q) => ({ q })} />
  </ReferenceInput>,
  <SelectInput key="kind" source="kind" choices={choicesOf("accounts", "kind", ACCOUNT_KINDS)} alwaysOn />,
];

const AccountList = () => (
  <List empty={false} filters={filters} filterDefaultValues={{ kind: "available" }} sort={{ field: "organisation_id", order: "ASC" }}
        exporter={false}>
    <Datagrid bulkActionButtons={false} rowClick={false}>
      <TextField source="id" />
      <ReferenceField source="organisation_id" reference="organisations" link="show" emptyText="—" />
      <EnumField source="kind" resource="accounts" group="kind" />
      <TextField source="campaign_id" emptyText="—" />
      <MoneyField source="balance_minor" sortable={false} />
      <MoneyField source="low_balance_threshold_minor" sortable={false} />
      <LowFlag label="" />
      <StatementButton label="" />
    </Datagrid>
  </List>
);


export default AccountList;
