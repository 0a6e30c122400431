import {
  AutocompleteInput,
  CreateButton,
  Datagrid,
  List,
  ReferenceField,
  ReferenceInput,
  SelectInput,
  TextField,
  TopToolbar,
  useCanAccess,
  usePermissions,
} from "react-admin";

import { DateTimeField, DayField } from "../common/DateTimeField";
import { choicesOf, EnumField } from "../common/EnumField";
import { MoneyField } from "../common/MoneyField";
import { isRetailer } from "../roles";

const STATUSES = ["pending", "succeeded", "failed", "refunded", "refund_failed"];

const Actions = () => {
  const { canAccess } = useCanAccess({ resource: "topups", action: "create" });
  return <TopToolbar>{canAccess && <CreateButton label="resources.topups.create_bank" />}</TopToolbar>;
};

const TopUpList = () => {
  const { permissions } = usePermissions();
  const staff = isRetailer(permissions);
  const filters = [
    ...(staff ? [
      <ReferenceInput key="org" source="organisation_id" reference="organisations" alwaysOn>
        <AutocompleteInput optionText="name" filterToQuery={(q) => ({ q })} />
      </ReferenceInput>,
    ] : []),
    <SelectInput key="status" source="status" choices={choicesOf("topups", "status", STATUSES)} />,
    <SelectInput key="method" source="method" choices={choicesOf("topups", "method", ["card", "bank_transfer"])} />,
  ];
  return (
    <List empty={false} filters={filters} sort={{ field: "created_at", order: "DESC" }} actions={<Actions />} exporter={false}>
      <Datagrid bulkActionButtons={false} rowClick={false}>
        <TextField source="id" />
        <DateTimeField source="created_at" />
        {staff && <ReferenceField source="organisation_id" reference="organisations" link="show" />}
        <EnumField source="method" resource="topups" group="method" />
        <EnumField source="status" resource="topups" group="status" />
        <MoneyField source="amount_minor" />
        <TextField source="document_number" emptyText="—" sortable={false} />
        <DayField source="document_date" emptyText="—" sortable={false} />
      </Datagrid>
    </List>
  );
};

export default TopUpList;
