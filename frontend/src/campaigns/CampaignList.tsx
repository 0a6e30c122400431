import {
  CreateButton,
  Datagrid,
  List,
  ReferenceField,
  SearchInput,
  SelectInput,
  TextField,
  TopToolbar,
  useGetIdentity,
} from "react-admin";

import type { Role } from "../api";
import { DateTimeField, DayField } from "../common/DateTimeField";
import { choicesOf } from "../common/EnumField";
import { MoneyField } from "../common/MoneyField";
import { isRetailer } from "../roles";
import { StatusField } from "./StatusField";

export const CAMPAIGN_STATUSES = ["draft", "pending_approval", "approved", "rejected", "scheduled", "active",
  "paused", "ended"];

const filters = [
  <SearchInput key="q" source="q" alwaysOn />,
  <SelectInput key="status" source="status" choices={choicesOf("campaigns", "status", CAMPAIGN_STATUSES)} />,
];

const CampaignList = () => {
  const { identity } = useGetIdentity();
  const staff = isRetailer(identity?.role as Role | undefined);
  return (
    <List empty={false} filters={filters} sort={{ field: "updated_at", order: "DESC" }}
          actions={<TopToolbar><CreateButton /></TopToolbar>}>
      <Datagrid rowClick="show" bulkActionButtons={false}>
        <TextField source="name" />
        {staff && <ReferenceField source="organisation_id" reference="organisations" link={false} />}
        <StatusField source="status" />
        <DayField source="starts_at" />
        <DayField source="ends_at" />
        <MoneyField source="budget_minor" />
        <DateTimeField source="updated_at" />
      </Datagrid>
    </List>
  );
};

export default CampaignList;
