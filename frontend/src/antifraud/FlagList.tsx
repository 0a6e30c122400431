// The antifraud review queue (retailer staff): receipts whose supplier discounts were held.
// Approve: the held discounts are captured (the supplier pays); reject: they are released.
import { Button, Stack } from "@mui/material";
import { useState } from "react";
import {
  Datagrid,
  List,
  SelectInput,
  TextField,
  useNotify,
  useRecordContext,
  useRefresh,
  useTranslate,
} from "react-admin";

import { apiFetch } from "../api";
import { DateTimeField } from "../common/DateTimeField";
import { choicesOf, EnumField } from "../common/EnumField";
import { MoneyField } from "../common/MoneyField";

const Rules = (_props: { label?: string }) => {
  const record = useRecordContext();
  return <span>{(record?.rules ?? []).join(", ")}</span>;
};

const Review = (_props: { label?: string }) => {
  const record = useRecordContext();
  const translate = useTranslate();
  const notify = useNotify();
  const refresh = useRefresh();
  const [busy, setBusy] = useState(false);
  if (!record || record.status !== "open") return null;
  const decide = async (decision: "approve" | "reject") => {
    setBusy(true);
    try {
      await apiFetch(`/antifraud/flags/${record.id}/${decision}`, { method: "POST" });
      notify(`resources.antifraud.done.${decision}`, { type: "success" });
      refresh();
    } catch (error) {
      notify((error as Error).message, { type: "error" });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Stack direction="row" spacing={1} onClick={(event) => event.stopPropagation()}>
      <Button size="small" variant="contained" disabled={busy} onClick={() => decide("approve")}>
        {translate("resources.antifraud.approve")}
      </Button>
      <Button size="small" variant="outlined" color="error" disabled={busy} onClick={() => decide("reject")}>
        {translate("resources.antifraud.reject")}
      </Button>
    </Stack>
  );
};

const filters = [
  <SelectInput key="status" source="status" alwaysOn
               choices={choicesOf("antifraud", "status", ["open", "approved", "rejected"])} />,
];

const FlagList = () => (
  <List filters={filters} filterDefaultValues={{ status: "open" }} sort={{ field: "created_at", order: "ASC" }}
        exporter={false} empty={false}>
    <Datagrid bulkActionButtons={false}>
      <DateTimeField source="created_at" />
      <TextField source="receipt_id" />
      <TextField source="customer_id" />
      <TextField source="store_id" />
      <Rules label="resources.antifraud.fields.rules" />
      <MoneyField source="held_minor" />
      <EnumField source="status" resource="antifraud" group="status" />
      <Review label="resources.antifraud.fields.review" />
    </Datagrid>
  </List>
);

export default FlagList;
