// The audit log: who changed what, when, from what to what, and every money movement.
// Retailer staff see every organisation's entries (and filter by one); a supplier its own.
import { Box, Typography } from "@mui/material";
import {
  Datagrid,
  DateInput,
  List,
  ReferenceField,
  ReferenceInput,
  TextField,
  TextInput,
  useGetIdentity,
  useRecordContext,
} from "react-admin";

import type { Role } from "../api";
import { DateTimeField } from "../common/DateTimeField";
import { isRetailer } from "../roles";

const Changes = () => {
  const record = useRecordContext();
  if (!record) return null;
  return (
    <Box sx={{ display: "grid", gridTemplateColumns: "1fr 1fr", gap: 2, p: 1 }}>
      {(["before", "after"] as const).map((side) => (
        <Box key={side}>
          <Typography variant="caption" color="text.secondary">{side}</Typography>
          <Box component="pre" sx={{ m: 0, fontSize: 12, whiteSpace: "pre-wrap" }}>
            {record[side] ? JSON.stringify(record[side], null, 2) : "—"}
          </Box>
        </Box>
      ))}
    </Box>
  );
};

const ChangedFields = (_props: { label?: string }) => {
  const record = useRecordContext();
  return <span>{(record?.changed_fields ?? []).join(", ")}</span>;
};

const AuditList = () => {
  const { identity } = useGetIdentity();
  const staff = isRetailer(identity?.role as Role | undefined);
  const filters = [
    <TextInput key="entity_type" source="entity_type" alwaysOn />,
    <TextInput key="action" source="action" />,
    <TextInput key="entity_id" source="entity_id" />,
    <DateInput key="at_gte" source="at_gte" alwaysOn />,
    <DateInput key="at_lte" source="at_lte" alwaysOn />,
    ...(staff ? [
      <ReferenceInput key="organisation_id" source="organisation_id" reference="organisations" />,
    ] : []),
  ];
  return (
    <List filters={filters} sort={{ field: "at", order: "DESC" }} exporter={false} empty={false}>
      <Datagrid bulkActionButtons={false} expand={<Changes />} rowClick="expand">
        <DateTimeField source="at" />
        {staff && <ReferenceField source="organisation_id" reference="organisations" link={false} emptyText="—" />}
        <TextField source="actor_user_id" emptyText="—" />
        <TextField source="entity_type" />
        <TextField source="entity_id" />
        <TextField source="action" />
        <ChangedFields label="resources.audit.fields.changed_fields" />
      </Datagrid>
    </List>
  );
};

export default AuditList;
