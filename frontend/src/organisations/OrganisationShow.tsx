import {
  BooleanField,
  CreateButton,
  Datagrid,
  EmailField,
  ReferenceManyField,
  Show,
  SimpleShowLayout,
  TextField,
  useCanAccess,
  useRecordContext,
} from "react-admin";

import { DateTimeField } from "../common/DateTimeField";
import { EnumField } from "../common/EnumField";
import { RoleField } from "../users/UserList";

const AddUser = () => {
  const record = useRecordContext();
  const { canAccess } = useCanAccess({ resource: "users", action: "create" });
  if (!record || !canAccess) return null;
  return <CreateButton resource="users" state={{ record: { organisation_id: record.id } }} />;
};

const OrganisationShow = () => (
  <Show>
    <SimpleShowLayout>
      <TextField source="name" />
      <EnumField source="kind" resource="organisations" group="kind" />
      <TextField source="supplier_id" emptyText="—" />
      <DateTimeField source="created_at" />
      <ReferenceManyField reference="users" target="organisation_id" label="resources.organisations.fields.users">
        <Datagrid bulkActionButtons={false} rowClick="show">
          <EmailField source="email" />
          <TextField source="full_name" />
          <RoleField source="role" label="resources.users.fields.role" />
          <BooleanField source="is_active" />
        </Datagrid>
      </ReferenceManyField>
      <AddUser />
    </SimpleShowLayout>
  </Show>
);

export default OrganisationShow;
