import {
  AutocompleteInput,
  BooleanField,
  CreateButton,
  Datagrid,
  EmailField,
  List,
  ReferenceField,
  ReferenceInput,
  SearchInput,
  SelectInput,
  TextField,
  TopToolbar,
  useCanAccess,
  useRecordContext,
  useTranslate,
} from "react-admin";

import { DateTimeField } from "../common/DateTimeField";
import { ROLE_CHOICES } from "./roles";

export const RoleField = (_props: { source?: string; label?: string }) => {
  const record = useRecordContext();
  const translate = useTranslate();
  return record ? <span>{translate(`vitrina.roles.${record.role}`)}</span> : null;
};

const filters = [
  <SearchInput key="q" source="q" alwaysOn />,
  <ReferenceInput key="org" source="organisation_id" reference="organisations">
    <AutocompleteInput optionText="name" filterToQuery={(q) => ({ q })} />
  </ReferenceInput>,
  <SelectInput key="role" source="role" choices={ROLE_CHOICES} />,
];

const Actions = () => {
  const { canAccess } = useCanAccess({ resource: "users", action: "create" });
  return <TopToolbar>{canAccess && <CreateButton />}</TopToolbar>;
};

const UserList = () => (
  <List empty={false} filters={filters} sort={{ field: "email", order: "ASC" }} actions={<Actions />} exporter={false}>
    <Datagrid rowClick="show" bulkActionButtons={false}>
      <EmailField source="email" />
      <TextField source="full_name" />
      <RoleField source="role" label="resources.users.fields.role" />
      <ReferenceField source="organisation_id" reference="organisations" link="show" sortable={false} />
      <BooleanField source="is_active" />
      <DateTimeField source="created_at" />
    </Datagrid>
  </List>
);

export default UserList;
