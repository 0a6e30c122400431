// Revising a campaign (a draft, a rejected one, or one waiting for approval) in the same
// wizard; an approved campaign goes back for approval when revised (the API decides).
import { Edit } from "react-admin";

import { CampaignWizard } from "./CampaignWizard";
import { toCampaignBody } from "./transform";

const CampaignEdit = () => (
  <Edit redirect="show" mutationMode="pessimistic" transform={toCampaignBody}>
    <CampaignWizard />
  </Edit>
);

export default CampaignEdit;
