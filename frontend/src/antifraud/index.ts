import GppMaybeIcon from "@mui/icons-material/GppMaybe";
import { lazy } from "react";

export default {
  list: lazy(() => import("./FlagList")),
  icon: GppMaybeIcon,
};
