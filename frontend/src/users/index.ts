import PeopleIcon from "@mui/icons-material/People";
import { lazy } from "react";

export default {
  list: lazy(() => import("./UserList")),
  create: lazy(() => import("./UserCreate")),
  edit: lazy(() => import("./UserEdit")),
  show: lazy(() => import("./UserShow")),
  icon: PeopleIcon,
  recordRepresentation: "email",
};
