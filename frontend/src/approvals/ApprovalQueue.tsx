// The retail marketer's approval queue: campaigns waiting for approval, oldest first; a
// row unfolds into its forecast, a click opens the full card to approve or reject.
import {
  AccessDenied,
  Datagrid,
  List,
  ReferenceField,
  TextField,
  Title,
  useCanAccess,
  useRecordContext,
  useTranslate,
} from "react-admin";

import { DateTimeField, DayField } from "../common/DateTimeField";
import { MoneyField } from "../common/MoneyField";
import { ForecastPanel } from "../campaigns/ForecastPanel";

const ForecastExpand = () => {
  const record = useRecordContext();
  return record ? <ForecastPanel campaignId={record.id} budgetMinor={record.budget_minor} /> : null;
};

const ApprovalQueue = () => {
  const translate = useTranslate();
  const access = useCanAccess({ resource: "approvals", action: "list" });
  if (access.isPending) return null;
  if (!access.canAccess) return <AccessDenied />;
  return (
    <>
      <Title title={translate("vitrina.approvals.title")} />
      <List resource="campaigns" filter={{ status: "pending_approval" }} sort={{ field: "updated_at", order: "ASC" }}
            actions={false} title={translate("vitrina.approvals.title")}
            empty={<p data-testid="approvals-empty" style={{ padding: 16 }}>{translate("vitrina.approvals.empty")}</p>}>
        <Datagrid rowClick="show" bulkActionButtons={false} expand={<ForecastExpand />}>
          <TextField source="name" />
          <ReferenceField source="organisation_id" reference="organisations" link={false} />
          <DayField source="starts_at" />
          <DayField source="ends_at" />
          <MoneyField source="budget_minor" />
          <DateTimeField source="updated_at" />
        </Datagrid>
      </List>
    </>
  );
};

export default ApprovalQueue;
