import { Create } from "react-admin";

import { CAMPAIGN_DEFAULTS, CampaignWizard } from "./CampaignWizard";
import { toCampaignBody } from "./transform";

const CampaignCreate = () => (
  <Create redirect="show" transform={toCampaignBody} title="vitrina.campaigns.new">
    <CampaignWizard defaultValues={CAMPAIGN_DEFAULTS} />
  </Create>
);

export default CampaignCreate;
