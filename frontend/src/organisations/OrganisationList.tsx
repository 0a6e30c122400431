import { CreateButton, Datagrid, List, SearchInput, SelectInput, TextField, TopToolbar, useCanAccess } from "react-admin";

import { DateTimeField } from "../common/DateTimeField";
import { choicesOf, EnumField } from "../common/EnumField";

export const ORGANISATION_KINDS = choicesOf("organisations", "kind", ["retailer", "supplier"]);

const filters = [
  <SearchInput key="q" source="q" alwaysOn />,
  <SelectInput key="kind" source="kind" choices={ORGANISATION_KINDS} />,
];

const Actions = () => {
  const { canAccess } = useCanAccess({ resource: "organisations", action: "create" });
  return <TopToolbar>{canAccess && <CreateButton />}</TopToolbar>;
};

const OrganisationList = () => (
  <List empty={false} filters={filters} sort={{ field: "name", order: "ASC" }} actions={<Actions />} exporter={false}>
    <Datagrid rowClick="show" bulkActionButtons={false}>
      <TextField source="id" />
      <TextField source="name" />
      <EnumField source="kind" resource="organisations" group="kind" />
      <TextField source="supplier_id" emptyText="—" />
      <DateTimeField source="created_at" />
    </Datagrid>
  </List>
);

export default OrganisationList;
