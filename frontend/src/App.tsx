// The web cabinet: one data provider, one auth provider, Russian by default. Screens load
// lazily, so the first screen (login) stays small.
import { lazy } from "react";
import { Admin, CustomRoutes, Resource } from "react-admin";
import { Route } from "react-router-dom";

import { authProvider } from "./authProvider";
import { dataProvider } from "./dataProvider";
import { i18nProvider } from "./i18n";
import { Layout } from "./layout/Layout";
import accounts from "./accounts";
import antifraud from "./antifraud";
import { ApprovalQueue } from "./approvals";
import audit from "./audit";
import campaigns from "./campaigns";
import guardrails from "./guardrails";
import ledger from "./ledger";
import organisations from "./organisations";
import segments from "./segments";
import topups from "./topups";
import users from "./users";

const Dashboard = lazy(() => import("./dashboard/Dashboard"));
const BalancePage = lazy(() => import("./balance/BalancePage"));

export const App = () => (
  <Admin
    title="Витрина"
    dataProvider={dataProvider}
    authProvider={authProvider}
    i18nProvider={i18nProvider}
    layout={Layout}
    dashboard={Dashboard}
    disableTelemetry
    requireAuth
  >
    <Resource name="campaigns" {...campaigns} />
    <Resource name="segments" {...segments} />
    <Resource name="accounts" {...accounts} />
    <Resource name="ledger" {...ledger} />
    <Resource name="topups" {...topups} />
    <Resource name="guardrails" {...guardrails} />
    <Resource name="organisations" {...organisations} />
    <Resource name="users" {...users} />
    <Resource name="audit" {...audit} />
    <Resource name="antifraud" {...antifraud} />
    <Resource name="notifications" />
    <Resource name="products" recordRepresentation="name" />
    <Resource name="stores" recordRepresentation="name" />
    <CustomRoutes>
      <Route path="/balance" element={<BalancePage />} />
      <Route path="/approvals" element={<ApprovalQueue />} />
    </CustomRoutes>
  </Admin>
);
