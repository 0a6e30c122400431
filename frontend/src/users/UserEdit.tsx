import { BooleanInput, Edit, SelectInput, SimpleForm, TextInput } from "react-admin";

import { ROLE_CHOICES } from "./roles";

const UserEdit = () => (
  <Edit mutationMode="pessimistic" redirect="show">
    <SimpleForm>
      <TextInput source="email" disabled />
      <TextInput source="full_name" />
      <SelectInput source="role" choices={ROLE_CHOICES} />
      <BooleanInput source="is_active" />
    </SimpleForm>
  </Edit>
);

export default UserEdit;
