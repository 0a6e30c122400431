import {
  CreateButton,
  Datagrid,
  List,
  NumberField,
  SearchInput,
  SelectInput,
  TextField,
  TopToolbar,
} from "react-admin";

import { DateTimeField } from "../common/DateTimeField";
import { choicesOf, EnumField } from "../common/EnumField";
import { SizeField } from "./SizeField";

const filters = [
  <SearchInput key="q" source="q" alwaysOn />,
  <SelectInput key="status" source="status" choices={choicesOf("segments", "status", ["active", "archived"])} />,
];

const SegmentList = () => (
  <List empty={false} filters={filters} filterDefaultValues={{ status: "active" }} sort={{ field: "updated_at", order: "DESC" }}
        actions={<TopToolbar><CreateButton /></TopToolbar>}>
    <Datagrid rowClick="show" bulkActionButtons={false}>
      <TextField source="name" />
      <SizeField source="size" sortable={false} label="resources.segments.fields.size" />
      <EnumField source="status" resource="segments" group="status" />
      <NumberField source="version" />
      <DateTimeField source="updated_at" />
    </Datagrid>
  </List>
);

export default SegmentList;
