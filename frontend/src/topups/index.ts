import AddCardIcon from "@mui/icons-material/AddCard";
import { lazy } from "react";

export default {
  list: lazy(() => import("./TopUpList")),
  create: lazy(() => import("./BankTopUpCreate")),
  icon: AddCardIcon,
};
