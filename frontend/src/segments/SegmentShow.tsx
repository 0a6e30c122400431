import { EditButton, Labeled, NumberField, Show, SimpleShowLayout, TextField, TopToolbar } from "react-admin";

import { DateTimeField } from "../common/DateTimeField";
import { EnumField } from "../common/EnumField";
import { RuleSummary } from "./RuleSummary";
import { SizeField } from "./SizeField";

const SegmentShow = () => (
  <Show actions={<TopToolbar><EditButton /></TopToolbar>}>
    <SimpleShowLayout>
      <TextField source="name" />
      <TextField source="description" emptyText="—" />
      <SizeField source="size" label="resources.segments.fields.size" />
      <EnumField source="status" resource="segments" group="status" />
      <NumberField source="version" />
      <Labeled label="resources.segments.fields.rule"><RuleSummary /></Labeled>
      <DateTimeField source="updated_at" />
    </SimpleShowLayout>
  </Show>
);

export default SegmentShow;
