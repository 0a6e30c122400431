import PriceCheckIcon from "@mui/icons-material/PriceCheck";
import { lazy } from "react";

export default {
  list: lazy(() => import("./GuardrailList")),
  create: lazy(() => import("./GuardrailCreate")),
  edit: lazy(() => import("./GuardrailEdit")),
  icon: PriceCheckIcon,
  recordRepresentation: "target",
};
