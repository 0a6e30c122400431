// A campaign: its terms, the rejection reason if any, the status timeline, the app preview
// of its offer card, its forecast and its report.
import { Alert, Chip, Stack } from "@mui/material";
import type { ReactElement } from "react";
import {
  Labeled,
  NumberField,
  ReferenceField,
  Show,
  TabbedShowLayout,
  TextField,
  useGetIdentity,
  useRecordContext,
  useTranslate,
} from "react-admin";

import type { Role } from "../api";
import { DateTimeField } from "../common/DateTimeField";
import { EnumField } from "../common/EnumField";
import { MoneyField } from "../common/MoneyField";
import { PercentField } from "../common/PercentField";
import { isRetailer } from "../roles";
import { CampaignActions } from "./CampaignActions";
import { ForecastPanel } from "./ForecastPanel";
import { OfferPreview } from "./OfferPreview";
import { ReportTab } from "./ReportTab";
import { StatusField } from "./StatusField";
import { Timeline } from "./Timeline";

const Rejection = () => {
  const record = useRecordContext();
  const translate = useTranslate();
  if (!record?.rejection_reason || record.status !== "rejected") return null;
  return (
    <Alert severity="error" data-testid="rejection-reason">
      {translate("vitrina.campaigns.rejected_because", { reason: record.rejection_reason })}
    </Alert>
  );
};

/** Which organisation a campaign belongs to matters to the retailer's staff only. */
const StaffOnly = ({ children }: { children: ReactElement }) => {
  const { identity } = useGetIdentity();
  return isRetailer(identity?.role as Role | undefined) ? <Labeled source="organisation_id">{children}</Labeled> : null;
};

const Depth = () => {
  const record = useRecordContext();
  if (!record) return null;
  return record.depth_mode === "ai" ? (
    <>
      <Labeled source="min_discount_bp"><PercentField source="min_discount_bp" /></Labeled>
      <Labeled source="max_discount_bp"><PercentField source="max_discount_bp" /></Labeled>
      <Labeled source="goal"><EnumField source="goal" resource="campaigns" group="goal" /></Labeled>
    </>
  ) : <Labeled source="discount_bp"><PercentField source="discount_bp" /></Labeled>;
};

const ForecastTab = () => {
  const record = useRecordContext();
  return record ? <ForecastPanel campaignId={record.id} budgetMinor={record.budget_minor} /> : null;
};

const Strings = ({ source }: { source: string }) => {
  const record = useRecordContext();
  const values: string[] | null = record?.[source] ?? null;
  if (!values?.length) return <span>—</span>;
  return <Stack direction="row" spacing={0.5}>{values.map((v) => <Chip key={v} size="small" label={v} />)}</Stack>;
};

const CampaignShow = () => (
  <Show actions={<CampaignActions />}>
    <TabbedShowLayout>
      <TabbedShowLayout.Tab label="vitrina.campaigns.tabs.summary">
        <Rejection />
        <TextField source="name" />
        <StatusField source="status" />
        <StaffOnly><ReferenceField source="organisation_id" reference="organisations" link={false} /></StaffOnly>
        <ReferenceField source="segment_id" reference="segments" link="show" />
        <Labeled source="skus"><Strings source="skus" /></Labeled>
        <DateTimeField source="starts_at" />
        <DateTimeField source="ends_at" />
        <Labeled source="regions"><Strings source="regions" /></Labeled>
        <Labeled source="store_ids"><Strings source="store_ids" /></Labeled>
        <EnumField source="depth_mode" resource="campaigns" group="depth_mode" />
        <Depth />
        <NumberField source="limit_units_per_week" />
        <PercentField source="holdout_bp" />
        <MoneyField source="budget_minor" />
        <Labeled label="vitrina.campaigns.timeline"><Timeline /></Labeled>
        <Labeled label="vitrina.campaigns.preview"><OfferPreview /></Labeled>
      </TabbedShowLayout.Tab>
      <TabbedShowLayout.Tab label="vitrina.campaigns.tabs.forecast" path="forecast">
        <ForecastTab />
      </TabbedShowLayout.Tab>
      <TabbedShowLayout.Tab label="vitrina.campaigns.tabs.report" path="report">
        <ReportTab />
      </TabbedShowLayout.Tab>
    </TabbedShowLayout>
  </Show>
);

export default CampaignShow;
