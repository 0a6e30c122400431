import CampaignIcon from "@mui/icons-material/Campaign";
import { lazy } from "react";

export default {
  list: lazy(() => import("./CampaignList")),
  create: lazy(() => import("./CampaignCreate")),
  edit: lazy(() => import("./CampaignEdit")),
  show: lazy(() => import("./CampaignShow")),
  icon: CampaignIcon,
  recordRepresentation: "name",
};
