import AccountBalanceIcon from "@mui/icons-material/AccountBalance";
import { lazy } from "react";

export default {
  list: lazy(() => import("./AccountList")),
  icon: AccountBalanceIcon,
};
