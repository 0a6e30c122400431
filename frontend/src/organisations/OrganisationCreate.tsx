import { Create, FormDataConsumer, SelectInput, SimpleForm, TextInput, required } from "react-admin";

import { ORGANISATION_KINDS } from "./OrganisationList";

const OrganisationCreate = () => (
  <Create redirect="show">
    <SimpleForm>
      <TextInput source="name" validate={required()} sx={{ width: 400 }} />
      <SelectInput source="kind" choices={ORGANISATION_KINDS} validate={required()} />
      <FormDataConsumer>
        {({ formData }) => formData.kind === "supplier" && <TextInput source="supplier_id" validate={required()} />}
      </FormDataConsumer>
    </SimpleForm>
  </Create>
);

export default OrganisationCreate;
