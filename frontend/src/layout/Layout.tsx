import { Box, Typography } from "@mui/material";
import type { ReactNode } from "react";
import { AppBar, Layout as RaLayout, TitlePortal, useGetIdentity, useTranslate } from "react-admin";

import { NotificationBell } from "../notifications/NotificationBell";
import { Menu } from "./Menu";

/** Who is logged in, for which organisation and in which role: always in view. */
const WhoAmI = () => {
  const { identity } = useGetIdentity();
  const translate = useTranslate();
  if (!identity) return null;
  return (
    <Box sx={{ mr: 2, textAlign: "right", display: { xs: "none", md: "block" } }} data-testid="whoami">
      <Typography variant="body2" component="div">{identity.organisation?.name}</Typography>
      <Typography variant="caption" component="div">{translate(`vitrina.roles.${identity.role}`)}</Typography>
    </Box>
  );
};

const CabinetAppBar = () => (
  <AppBar>
    <TitlePortal />
    <NotificationBell />
    <WhoAmI />
  </AppBar>
);

export const Layout = ({ children }: { children: ReactNode }) => (
  <RaLayout menu={Menu} appBar={CabinetAppBar}>{children}</RaLayout>
);
