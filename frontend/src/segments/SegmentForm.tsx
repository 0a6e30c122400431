import { SimpleForm, TextInput, required } from "react-admin";

import { RuleInput } from "./RuleInput";

export const SegmentForm = () => (
  <SimpleForm>
    <TextInput source="name" validate={required()} sx={{ width: 480 }} />
    <TextInput source="description" multiline sx={{ width: 480 }} />
    <RuleInput source="rule" />
  </SimpleForm>
);
