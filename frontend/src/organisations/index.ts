import BusinessIcon from "@mui/icons-material/Business";
import { lazy } from "react";

export default {
  list: lazy(() => import("./OrganisationList")),
  create: lazy(() => import("./OrganisationCreate")),
  show: lazy(() => import("./OrganisationShow")),
  icon: BusinessIcon,
  recordRepresentation: "name",
};
