import { BooleanField, EditButton, EmailField, ReferenceField, Show, SimpleShowLayout, TextField, TopToolbar, useCanAccess } from "react-admin";

import { DateTimeField } from "../common/DateTimeField";
import { RoleField } from "./UserList";

const Actions = () => {
  const { canAccess } = useCanAccess({ resource: "users", action: "edit" });
  return <TopToolbar>{canAccess && <EditButton />}</TopToolbar>;
};

const UserShow = () => (
  <Show actions={<Actions />}>
    <SimpleShowLayout>
      <EmailField source="email" />
      <TextField source="full_name" />
      <RoleField label="resources.users.fields.role" />
      <ReferenceField source="organisation_id" reference="organisations" link="show" />
      <BooleanField source="is_active" />
      <DateTimeField source="created_at" />
    </SimpleShowLayout>
  </Show>
);

export default UserShow;
