// A new user in an organisation; the server checks that the role fits the organisation and
// the password is long enough, and says so next to the field.
import {
  AutocompleteInput,
  Create,
  PasswordInput,
  ReferenceInput,
  SelectInput,
  SimpleForm,
  TextInput,
  email,
  required,
} from "react-admin";

import { ROLE_CHOICES } from "./roles";

const UserCreate = () => (
  <Create redirect="show">
    <SimpleForm>
      <ReferenceInput source="organisation_id" reference="organisations">
        <AutocompleteInput optionText="name" filterToQuery={(q) => ({ q })} validate={required()} sx={{ width: 400 }} />
      </ReferenceInput>
      <TextInput source="email" validate={[required(), email()]} sx={{ width: 400 }} />
      <TextInput source="full_name" sx={{ width: 400 }} />
      <SelectInput source="role" choices={ROLE_CHOICES} validate={required()} />
      <PasswordInput source="password" validate={required()} />
    </SimpleForm>
  </Create>
);

export default UserCreate;
