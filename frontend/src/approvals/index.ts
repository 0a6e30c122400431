import { lazy } from "react";

export const ApprovalQueue = lazy(() => import("./ApprovalQueue"));
