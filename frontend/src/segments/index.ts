import GroupsIcon from "@mui/icons-material/Groups";
import { lazy } from "react";

export default {
  list: lazy(() => import("./SegmentList")),
  create: lazy(() => import("./SegmentCreate")),
  edit: lazy(() => import("./SegmentEdit")),
  show: lazy(() => import("./SegmentShow")),
  icon: GroupsIcon,
  recordRepresentation: "name",
};
