// The ledger's postings, newest first, with filters. Retailer staff see every organisation.
import {
  AutocompleteInput,
  Datagrid,
  DateInput,
  List,
  NumberField,
  ReferenceField,
  ReferenceInput,
  SelectInput,
  TextField,
  TextInput,
  usePermissions,
} from "react-admin";

import { isRetailer } from "../roles";
import { DateTimeField } from "../common/DateTimeField";
import { choicesOf, EnumField } from "../common/EnumField";
import { MoneyField } from "../common/MoneyField";

export const TRANSACTION_KINDS = ["top_up", "hold", "authorize", "capture", "release_authorization",
  "release_budget", "reversal"];
export const ACCOUNT_KINDS = ["available", "budget", "authorized", "supplier_compensation",
  "stripe_clearing", "bank_clearing"];

export const DateInputs = [
  <DateInput key="from" source="created_at_gte" alwaysOn />,
  <DateInput key="to" source="created_at_lte" alwaysOn />,
];

const LedgerList = () => {
  const { permissions } = usePermissions();
  const staff = isRetailer(permissions);
  const filters = [
    ...(staff ? [
      <ReferenceInput key="org" source="organisation_id" reference="organisations" alwaysOn>
        <AutocompleteInput optionText="name" filterToQuery={(q) => ({ q })} />
      </ReferenceInput>,
    ] : []),
    <SelectInput key="kind" source="kind" choices={choicesOf("ledger", "kind", TRANSACTION_KINDS)} alwaysOn />,
    <SelectInput key="account_kind" source="account_kind" choices={choicesOf("accounts", "kind", ACCOUNT_KINDS)} />,
    <TextInput key="campaign" source="campaign_id" />,
    ...DateInputs,
  ];
  return (
    <List empty={false} filters={filters} sort={{ field: "created_at", order: "DESC" }} exporter={false}>
      <Datagrid bulkActionButtons={false} rowClick={false}>
        <NumberField source="id" />
        <DateTimeField source="created_at" />
        <EnumField source="kind" resource="ledger" group="kind" />
        {staff && (
          <ReferenceField source="organisation_id" reference="organisations" link="show" emptyText="—" sortable={false} />
        )}
        <NumberField source="account_id" />
        <EnumField source="account_kind" resource="accounts" group="kind" />
        <TextField source="campaign_id" emptyText="—" sortable={false} />
        <MoneyField source="amount_minor" />
      </Datagrid>
    </List>
  );
};

export default LedgerList;
