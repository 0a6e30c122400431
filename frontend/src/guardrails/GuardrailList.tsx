import { Datagrid, DeleteButton, EditButton, List, SearchInput, SelectInput, TextField } from "react-admin";

import { DateTimeField } from "../common/DateTimeField";
import { choicesOf, EnumField } from "../common/EnumField";
import { MoneyField } from "../common/MoneyField";
import { PercentField } from "../common/PercentField";

const filters = [
  <SearchInput key="q" source="q" alwaysOn />,
  <SelectInput key="scope" source="scope" choices={choicesOf("guardrails", "scope", ["sku", "category", "global"])} />,
];

const GuardrailList = () => (
  <List empty={false} filters={filters} sort={{ field: "updated_at", order: "DESC" }} exporter={false}>
    <Datagrid bulkActionButtons={false} rowClick="edit">
      <EnumField source="scope" resource="guardrails" group="scope" />
      <TextField source="target" emptyText="—" />
      <MoneyField source="min_price_minor" sortable={false} />
      <PercentField source="max_discount_bp" sortable={false} />
      <PercentField source="min_margin_bp" sortable={false} />
      <DateTimeField source="updated_at" />
      <EditButton />
      <DeleteButton mutationMode="pessimistic" />
    </Datagrid>
  </List>
);

export default GuardrailList;
